"""The build's steps as plain functions of (features, config): what the CLI's plan and
the Prefect flow's tasks both call."""

from __future__ import annotations

import logging
from typing import Any

from ..clusters import cluster_posts
from ..corpus import Corpus
from ..embeddings.cache import EmbeddingCache
from ..embeddings.encoders import (
    Encoder,
    Progress,
    get_encoder,
)
from ..embeddings.worker import EncodingProcess
from ..features import Features
from ..outputs import post_ref, tags_payload
from ..related import RECIPE_FIELDS, related_for
from ..sites import Site
from ..store import text_key
from ..tagging import (
    DraftModel,
    NameMatches,
    TagModelFile,
    blog_fingerprint,
    tag_model_path,
    tag_suggestions,
)
from ..work import Runner, in_order
from . import reading
from .config import BuildConfig, Related, cache_namespace
from .reading import embedding_fields, start_encoding

log = logging.getLogger(__name__)

def make_features(
    corpus: Corpus, config: BuildConfig, progress: Progress | None = None,
    encoder: Encoder | None = None, cache: EmbeddingCache | None = None,
) -> Features:
    """The feature store of `corpus` (encoder: the configured one, if already made;
    cache: its embedding cache, if already opened)."""
    encoder = encoder or get_encoder(config.encoder, config.tfhub_handle)
    return Features(corpus.posts, encoder, config.cache_dir, progress=progress,
                    namespace=cache_namespace(config), cache=cache)


def texts_to_encode(features: Features, config: BuildConfig) -> list[list[str]]:
    """`reading.texts_to_encode` of the features' posts and cache."""
    return reading.texts_to_encode(features.posts, config, features.cache)


def embed(features: Features, config: BuildConfig) -> None:
    """Encode every text the build needs (cache misses only) and save the cache."""
    for fields in embedding_fields(config):
        features.use(fields)
    features.save_cache()
    log.info("embedded %d posts with %s (%d texts encoded, the rest from the cache)",
             len(features.posts), features.encoder.model_id if features.encoder else "-",
             features.encoded)


def submit_encoding(features: Features, config: BuildConfig,
                    job: EncodingProcess | None) -> EncodingProcess | None:
    """`reading.submit_encoding` of the features' posts, cache and encoder."""
    return reading.submit_encoding(job, features.posts, config, features.cache,
                                   features.encoder)


def finish_encoding(features: Features, job: EncodingProcess) -> None:
    """Put the vectors of a `start_encoding` job in the cache (`embed` then reads them
    from there, or encodes in-process whatever the job failed to deliver)."""
    vectors = job.result()
    if vectors is None or features.cache is None:
        return
    for group, rows in zip(job.groups, vectors, strict=True):
        for text, row in zip(group, rows, strict=True):
            features.cache.put(text_key(text), row)
    features.encoded += job.total


def embed_posts(features: Features, config: BuildConfig,
                job: EncodingProcess | None = None, split: bool = True) -> None:
    """The embed step: take the vectors of `job` (a `start_encoding` child, helped from
    its last batch by this process), then `embed` whatever is still missing. Without a
    job and with `split`, the misses are split between a new child and this process
    (the same bytes as `embed`). Safe to run again after a failure (the job's vectors
    are only taken once)."""
    if job is not None and not job.finished:
        job.help(features.encoder)  # type: ignore[arg-type]  (same model: submit_encoding)
        finish_encoding(features, job)
    elif job is None and split and features.encoder is not None:
        # nothing else to do meanwhile: split the encoding between two processes
        job = submit_encoding(features, config,
                              start_encoding(config, features.encoder, features.progress))
        if job is not None:
            try:
                job.help(features.encoder, min_seconds=0)  # type: ignore[arg-type]
                finish_encoding(features, job)
            finally:
                job.close()
    embed(features, config)


def related_groups(features: Features, config: BuildConfig) -> list[str | None] | None:
    """What each post's related posts stay within (`related.related_for`'s groups): its
    language (posts without one are one group); None with `--cross-language`."""
    return None if config.cross_language else [p.lang for p in features.posts]


def compute_related(features: Features, config: BuildConfig, run: Runner = in_order
                    ) -> Related:
    """Top-k related posts of every post, by the configured method, within its language
    unless `--cross-language` (`run`: the runner of the default's folds)."""
    groups = related_groups(features, config)
    if config.method == "use":
        idx, scores = related_for("use", features, config.k, groups, fields=config.fields,
                                  index=config.index)
        return Related(idx, scores, "use:" + "+".join(config.fields))
    idx, scores = related_for(config.method, features, config.k, groups,
                              tfhub_handle=config.tfhub_handle, tag_weight=config.tag_weight,
                              index=config.index, run=run)
    name = config.method + (f"+tags:{config.tag_weight:g}" if config.tag_weight else "")
    return Related(idx, scores, name)


def fit_tags(features: Features, config: BuildConfig, run: Runner = in_order,
             name_matches: NameMatches | None = None
             ) -> tuple[dict[str, Any], DraftModel | None]:
    """The build's tags step: the tags payload, and what `suggest-tags` needs of
    the fitted model (`tagging.DraftModel`, saved by `tag_model_file`; None without
    tags)."""
    result = tag_suggestions(features, config.suggest, config.posts_dir, run=run,
                             name_matches=name_matches)
    model = result.model.draft_model() if result.model is not None else None
    return tags_payload(result, features.posts), model


def compute_tags(features: Features, config: BuildConfig, run: Runner = in_order,
                 name_matches: NameMatches | None = None) -> dict[str, Any]:
    """The tags payload alone (`fit_tags`; `run`: the runner of the tag model's pieces;
    name_matches: the blog's `tagging.NameMatches`, if computed ahead)."""
    return fit_tags(features, config, run, name_matches)[0]


def tag_model_key(config: BuildConfig) -> str | None:
    """The blog's `tagging.blog_fingerprint` when the build will save its tag model;
    None when it will not: no cache directory, or a TF Hub encoder (whose model may
    change behind its handle: such builds are never skipped either). Taken when the
    plan starts, before the tags are fitted: a post edited later leaves a model that the
    next `suggest-tags` does not use. (`run_build` reads the blog just before the plan
    starts; a post edited in between would be keyed with the model of its old bytes.)"""
    if not config.cache_dir or config.encoder == "tfhub" or config.tfhub_handle:
        return None
    return blog_fingerprint(config.posts_dir, config.tag_settings, config.posts_folders)


def tag_model_file(config: BuildConfig, features: Features, model: DraftModel | None,
                   key: str | None) -> TagModelFile | None:
    """The saved tag model to write with the outputs (`fit_tags`, `tag_model_key`), in
    the cache directory, one per blog; None when there is none to save."""
    if model is None or key is None or not config.cache_dir or features.encoder is None:
        return None
    return TagModelFile(tag_model_path(config.cache_dir, cache_namespace(config)), model,
                        key, features.encoder.model_id)


def compute_clusters(features: Features, config: BuildConfig) -> Any:
    k_range = range(config.cluster_range[0], config.cluster_range[1] + 1) \
        if config.cluster_range else None
    return cluster_posts(features.posts, features.use(RECIPE_FIELDS), k=config.clusters,
                         k_range=k_range)


def build_report(corpus: Corpus, features: Features, method: str,
                 site: Site | None = None) -> dict[str, Any]:
    """What the build read and rejected, and the site it detected (site: the config's
    `site_root`); deterministic (no timings, no dates)."""
    def notes(items: list[Any]) -> list[dict[str, str]]:
        return [{"path": n.path, "reason": n.reason} for n in items]

    report: dict[str, Any] = {
        "posts_dir": str(corpus.root),
        "posts": len(corpus.posts),
        "posts_with_tags": sum(1 for p in corpus.posts if p.tags),
        "tags": len({t for p in corpus.posts for t in p.tags}),
        "taxonomy": list(corpus.taxonomy),
        "rejected": notes(corpus.rejected),
        "skipped": notes(corpus.skipped),
        "warnings": notes(corpus.warnings),
        "method": method,
        "model": features.encoder.model_id if features.encoder else None,
    }
    if corpus.not_posts:
        report["not_posts"] = notes(corpus.not_posts)
    languages = sorted({p.lang for p in corpus.posts if p.lang})
    if languages:
        report["languages"] = {lang: sum(1 for p in corpus.posts if p.lang == lang)
                               for lang in languages}
    if site is not None:
        report["site"] = site.describe()
    return report


def diversity_extra(corpus: Corpus, related: Related, clusters: Any) -> dict[int, dict]:
    """The optional slot: the newest other post of the same topic cluster, when it is not
    already among the related posts (the study's "latest post of the same cluster")."""
    extra: dict[int, dict] = {}
    by_cluster: dict[int, list[int]] = {}
    for i, label in enumerate(clusters.labels):
        by_cluster.setdefault(int(label), []).append(i)
    for i, label in enumerate(clusters.labels):
        shown = set(related.idx[i].tolist()) | {i}
        members = [j for j in by_cluster[int(label)] if j not in shown]
        dated = [j for j in members if corpus.posts[j].date]
        if dated:
            newest = max(dated, key=lambda j: (corpus.posts[j].date, -j))
            extra[i] = {"latest_in_cluster": post_ref(corpus.posts[newest])}
    return extra
