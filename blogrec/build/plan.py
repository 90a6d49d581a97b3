"""The build's plan: parse -> embed -> related -> tags (clusters and the map beside) ->
evaluate -> export -> report. The CLI and the Prefect flow both run it (`run_build`):
the flow only runs each step as a task (`Steps`).

The plan owns the concurrency; the models only expose independent pieces (`work`).
Cache misses are encoded in a child process (`start_encoding`, started before the parse
so it loads the model meanwhile) while this one tokenises and fits the LSI: a cold
ja-efcl CLI build on this 2-core VM went from 15.3 s to 11.7 s (same minutes). A thread
instead of a process lost 1.6 s: MeCab and the word filter hold the GIL that the
encoder's many small numpy calls need. Once the posts are embedded, a second thread
computes the clusters (faiss's k-means releases the GIL), then the tag model's name
matching (pure Python, beside this thread's numpy and faiss work), then the report
map's t-SNE, and takes pieces of related and tags when it is free; the results are the
same as in line. Nothing is written until every output has been computed, and then all
files are put in place together (`store.OutputBatch`), so a failed or killed build
keeps the previous output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS, so the BLAS limit covers it)
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .. import report as report_mod
from ..ann import choose_mode
from ..clusters import DEFAULT_SEED
from ..corpus import Corpus
from ..embeddings.cache import EmbeddingCache
from ..embeddings.encoders import Encoder, Progress, get_encoder
from ..embeddings.worker import EncodingProcess
from ..evaluation.compare import BUILD_PEERS, PEERS, evaluate_published, format_tag_table
from ..features import Features
from ..figures import map_coordinates, map_rows, report_section
from ..links import LinkGraph
from ..outputs import (
    BUILD_REPORT,
    CLUSTERS_JSON,
    RELATED_JSON,
    TAGS_JSON,
    VECTORS_JSON,
    clusters_payload,
    related_payload,
    vectors_payload,
)
from ..related import DEFAULT_METHOD, RECIPE_FIELDS
from ..store import OutputBatch, dumps
from ..tagging import NameMatches, TagModelFile, prepare_name_matches
from .config import BuildConfig, BuildResult, Related
from .reading import Early, read_and_submit, read_blog
from .steps import (
    build_report,
    compute_clusters,
    compute_related,
    diversity_extra,
    embed_posts,
    fit_tags,
    make_features,
    related_groups,
    submit_encoding,
    tag_model_file,
    tag_model_key,
)
from .threads import beside_executor, sharing

log = logging.getLogger(__name__)
T = TypeVar("T")

# A failed embed step may be transient (a full disk for the cache, a killed worker): a
# runner that can retry (the Prefect flow) retries it this often.
EMBED_RETRIES = 2


class Steps:
    """Runs the plan's steps, timing and logging each.

    A runner of the plan may subclass it: the Prefect flow makes each step a task
    (`call`), and embeds on Dask (`embed`, with `encode_beside` off). The plan is the
    same whoever runs it.
    """

    # start the encoding child process before the parse (see `plan.build_plan`)
    encode_beside = True

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn: Callable[..., T], *args: Any, retries: int = 0,
            **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` as the step `name`, timed. `retries`: how often a runner
        that can retry may retry a failure that may be transient (this one never
        retries)."""
        with self.step(name):
            return self.call(name, fn, args, kwargs, retries)

    def call(self, name: str, fn: Callable[..., T], args: tuple[Any, ...],
             kwargs: dict[str, Any], retries: int) -> T:
        return fn(*args, **kwargs)

    def embed(self, features: Any, config: BuildConfig, job: Any) -> None:
        """The embed step's work (see `steps.embed_posts`): the child the plan started
        did the splitting, if there was anything to encode."""
        embed_posts(features, config, job, split=not self.encode_beside)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - start
        log.info("step %s: %.2fs", name, self.seconds[name])


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the analysis steps on one BLAS thread.

    Their matrices are blog-sized (hundreds to thousands of rows), where a second thread
    gains little, and on a busy machine OpenBLAS's spinning threads are far slower:
    measured on this 2-core VM at load 3, a 745-post Cholesky solve took 0.59 s with 2
    threads and 0.044 s with 1.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def import_before_threads() -> None:
    """Fill, on this thread, a cache that the second thread would fill slowly: the
    models import their libraries at module level, so no import is left to race."""
    # scikit-learn's input check looks for dataframe plugins (narwhals) in the entry
    # points of every installed package, once per process: ~170 small files here. On the
    # t-SNE's thread, each read gave up the GIL to the busy main thread and waited to get
    # it back: 2 s instead of 0.06 s. Any estimator's fit does the lookup.
    StandardScaler().fit(np.zeros((2, 1)))


def build_in(config: BuildConfig, steps: Steps | None = None,
             progress: Progress | None = None, threads: int = 2,
             encoder: Encoder | None = None, early: Early | None = None
             ) -> BuildResult:
    """`build_plan` on one BLAS thread, with a second thread beside (see
    `runtime.run_build`, which runs it under the lock when the blog changed, and may
    have read the blog and started the encoding child: `early`)."""
    with one_blas_thread(), beside_executor(threads) as beside:
        return build_plan(config, steps or Steps(), beside, progress, encoder, early)


def build_plan(config: BuildConfig, steps: Steps, beside: Executor,
               progress: Progress | None = None, encoder: Encoder | None = None,
               early: Early | None = None) -> BuildResult:
    """Every step of a build, in order, writing every output at the end."""
    tag_key = tag_model_key(config)  # before the tag model is fitted
    corpus, features = read_and_embed(config, steps, progress, encoder, early)
    clusters, matches, coordinates = start_beside(features, config, beside, steps)
    related = steps.run("related", compute_related, features, config, sharing(beside))
    tags, tag_model = steps.run("tags", fit_tags, features, config, sharing(beside),
                                matches.result())  # type: ignore[union-attr]
    evaluation = steps.run("evaluate", evaluate_build, features, related, config,
                           name_matches=matches.result()) if config.evaluate else None
    related_eval, tag_eval, method_seconds = evaluation or (None, None, {})
    if tag_eval is not None:
        tag_eval.pop("raw")
    result = write_outputs(config, corpus, features, related, tags, clusters.result(),
                           related_eval, tag_eval, steps, method_seconds,
                           coordinates=coordinates.result(),
                           tag_model=tag_model_file(config, features, tag_model, tag_key))
    features.save_cache()  # the tokens (embeddings were saved by the embed step)
    return result


def read_and_embed(config: BuildConfig, steps: Steps, progress: Progress | None = None,
                   encoder: Encoder | None = None, early: Early | None = None
                   ) -> tuple[Corpus, Features]:
    """The steps every run starts with: parse, the lexical features while the encoding
    child works, embed. `encoder`, `early`: `runtime.run_build` made the encoder, read
    the blog and started the child before it imported the models."""
    if encoder is None:
        # made once (no model loaded yet): for a local TF Hub model that hashes its files
        encoder = get_encoder(config.encoder, config.tfhub_handle)
    if early is None and steps.encode_beside:
        early = read_and_submit(config, encoder, progress)
    corpus, cache, job = (early.corpus, early.cache, early.job) if early else (None, None, None)
    if early is not None:
        steps.seconds["read"] = early.seconds
    try:
        corpus, features, job = steps.run("parse", parse, config, encoder, job, progress,
                                          corpus, cache)
        if job is not None:
            steps.run("lexical", lexical, features, config)
        steps.run("embed", steps.embed, features, config, job, retries=EMBED_RETRIES)
    finally:
        if job is not None:
            job.close()
    return corpus, features


def parse(config: BuildConfig, encoder: Encoder, job: EncodingProcess | None,
          progress: Progress | None = None, corpus: Corpus | None = None,
          cache: EmbeddingCache | None = None
          ) -> tuple[Corpus, Features, EncodingProcess | None]:
    """Read the blog (unless `corpus` was read already: then the child has its texts)
    and hand the encoding child the texts the cache lacks; the feature store."""
    if corpus is not None:
        return corpus, make_features(corpus, config, progress, encoder, cache), job
    corpus = read_blog(config)
    features = make_features(corpus, config, progress, encoder)
    return corpus, features, submit_encoding(features, config, job)


def lexical(features: Features, config: BuildConfig | None = None) -> None:
    """What needs no vectors, while the encoder runs in the child: tokens, TF-IDF, LSI,
    and the default's word-pair TF-IDF unless the blog takes the large-blog path."""
    import_before_threads()
    features.lsi  # noqa: B018  (memoised; related and tags read it)
    if config is None or (config.method == DEFAULT_METHOD
                          and choose_mode(len(features.posts), config.index) == "exact"):
        features.pair_tfidf  # noqa: B018  (memoised; the default's related posts read it)


def _timed(steps: Steps, name: str, fn: Any, *args: Any) -> Any:
    with steps.step(name):
        return fn(*args)


def start_beside(features: Features, config: BuildConfig, beside: Executor, steps: Steps,
                 name_matches: bool = True
                 ) -> tuple[Future[Any], Future[Any] | None, Future[Any]]:
    """Queue on the second thread: the clusters (timed as their step), the tag model's
    name matching (pure Python: best beside this thread's numpy and faiss work; ~15 s
    at 100k posts; not without `name_matches`), the map's t-SNE. Returns their futures."""
    import_before_threads()
    clusters = beside.submit(_timed, steps, "clusters", compute_clusters, features, config)
    matches = beside.submit(prepare_name_matches, features) if name_matches else None
    rows = map_rows(len(features.posts), DEFAULT_SEED)
    coordinates = beside.submit(map_coordinates, features.use(RECIPE_FIELDS)[rows],
                                DEFAULT_SEED)
    return clusters, matches, coordinates


def evaluate_build(features: Features, related: Related, config: BuildConfig,
                   compare: bool = False, holdout: float = 0.17, cutoff: str | None = None,
                   name_matches: NameMatches | None = None, peers: Sequence[str] = BUILD_PEERS,
                   links: dict[str, Any] | None = None,
                   ) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    """`evaluation.compare.evaluate_published` of the build's related posts, every
    method ranking within the same groups (`name_matches`: the blog's, from the second
    thread)."""
    return evaluate_published(features, related.idx, related.method, k=config.k,
                              tfhub_handle=config.tfhub_handle, tag_weight=config.tag_weight,
                              compare=compare, holdout=holdout, cutoff=cutoff,
                              name_matches=name_matches, peers=peers, links=links,
                              groups=related_groups(features, config))


def write_outputs(config: BuildConfig, corpus: Corpus, features: Features, related: Related,
                  tags: dict[str, Any], clusters: Any, related_eval: dict[str, Any] | None,
                  tag_eval: dict[str, Any] | None, steps: Steps | None = None,
                  method_seconds: dict[str, float] | None = None, site: bool = True,
                  coordinates: tuple[np.ndarray, str] | None = None,
                  tag_model: TagModelFile | None = None) -> BuildResult:
    """Render every output, then put them all in place together (site=False: only the
    reports, as `blogrec evaluate` does; coordinates: the map's, if already computed;
    tag_model: the tag model to save for `suggest-tags`, in the cache directory)."""
    steps = steps or Steps()
    out, reports = Path(config.out_dir), Path(config.reports_dir)
    model = features.encoder.model_id if features.encoder else "none"
    with OutputBatch() as batch:
        with steps.step("export"):
            summary = build_report(corpus, features, related.method, config.site_root)
            if site:
                extra = diversity_extra(corpus, related, clusters) \
                    if config.diversity_slot else None
                root = config.site_root  # a site root: its pages' paths, for templates
                paths = [root.page_path(p.path, p.lang) for p in corpus.posts] \
                    if root is not None else None
                batch.add_json(out / RELATED_JSON, related_payload(
                    corpus.posts, related.idx, related.scores, related.method, model, extra,
                    page_paths=paths))
                batch.add_json(out / TAGS_JSON, tags)
                batch.add_json(out / CLUSTERS_JSON,
                               clusters_payload(clusters, corpus.posts))
                if config.export_vectors:
                    batch.add_json(out / VECTORS_JSON, vectors_payload(
                        corpus.posts, features.use(config.fields), model))
                batch.add_json(reports / BUILD_REPORT, summary)
                if tag_model is not None:
                    batch.add(tag_model.path, tag_model.encode())
        # The report's figures (dendrogram, map) in their own step, so that timings.json,
        # written by the report step, shows them.
        with steps.step("figures"):
            data: dict[str, Any] = {"blog": Path(config.posts_dir).resolve().name,
                                    "corpus": summary}
            data.update(report_section(clusters, corpus.posts, features.use(RECIPE_FIELDS),
                                       coordinates=coordinates))
        with steps.step("report"):
            if related_eval:
                data["related"] = related_eval
            if tag_eval:
                data["tags"] = tag_eval
            timings = {
                "steps": dict(steps.seconds),
                "methods": method_seconds or {},
                "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            }
            for name, blob in report_mod.report_files(data, timings).items():
                batch.add(reports / name, blob)
        outputs = batch.commit()
    return BuildResult(corpus, features, outputs, summary, data, dict(steps.seconds))


def evaluate_in(config: BuildConfig, compare: bool = False, holdout: float = 0.17,
                cutoff: str | None = None, progress: Progress | None = None
                ) -> tuple[str, list[str]]:
    """`runtime.run_evaluation`'s work, under its lock: every method ranks the blog with
    the links between its posts hidden, and is scored on tag Dice and on those links."""
    config = dataclasses.replace(config, hide_links=True)
    with one_blas_thread(), beside_executor(2) as beside:
        steps = Steps()
        encoder = get_encoder(config.encoder, config.tfhub_handle)
        early = read_and_submit(config, encoder, progress)
        corpus, features = read_and_embed(config, steps, progress, encoder, early)
        clusters, matches, coordinates = start_beside(features, config, beside, steps)
        related = steps.run("related", compute_related, features, config, sharing(beside))
        linked = early.links.undirected()  # type: ignore[union-attr]
        links = {"linked": linked,
                 "coverage": link_coverage(early.links, linked)}  # type: ignore[arg-type]
        related_eval, tag_eval, seconds = steps.run(
            "evaluate", evaluate_build, features, related, config, compare, holdout, cutoff,
            name_matches=matches.result(), peers=PEERS, links=links)  # type: ignore[union-attr]
        tag_raw = tag_eval.pop("raw")
        features.save_cache()
        result = write_outputs(config, corpus, features, related, {}, clusters.result(),
                               related_eval, tag_eval, steps, seconds, site=False,
                               coordinates=coordinates.result())
    text, evaluation = format_evaluation(corpus, config, related_eval, tag_eval, tag_raw,
                                         seconds)
    extra = [Path(config.reports_dir) / "evaluation.json", Path(config.reports_dir) /
             "evaluation.md"]
    with OutputBatch() as batch:
        batch.add(extra[0], dumps(evaluation))
        batch.add(extra[1], ("# blogrec evaluation\n\n```\n" + text + "\n```\n").encode())
        written = batch.commit()
    return text, result.outputs + written


def link_coverage(graph: LinkGraph, linked: Sequence[frozenset[int]]) -> dict[str, Any]:
    """What the link parser found (`linked`: `graph.undirected()`): the report's
    coverage line."""
    return {"links_resolved": graph.resolved, "links_unresolved": graph.unresolved,
            "unresolved_examples": [{"post": p, "target": t}
                                    for p, t in graph.unresolved_examples],
            "posts_linking": sum(1 for o in graph.out if o),
            "posts_scored": sum(1 for s in linked if s)}


def format_evaluation(corpus: Corpus, config: BuildConfig, related_eval: dict[str, Any],
                      tag_eval: dict[str, Any], tag_raw: dict[str, Any] | None,
                      seconds: dict[str, float]) -> tuple[str, dict[str, Any]]:
    """The terminal's tables, and evaluation.json's document."""
    k = config.k
    related_rows = [{**r, "seconds": seconds.get(f"related:{r['method']}")}
                    for r in related_eval["rows"]]
    links = related_eval.get("links")
    lines = [f"{len(corpus.posts)} posts, {sum(1 for p in corpus.posts if p.tags)} with tags",
             ""]
    if links is not None:
        lines += [f"Links between posts: {links['links_resolved']} resolved, "
                  f"{links['links_unresolved']} unresolved; {links['posts_scored']} posts "
                  f"link or are linked (hidden from every method below)."]
        lines += [f"  unresolved: {x['post']} -> {x['target']}"
                  for x in links["unresolved_examples"]]
        lines.append("")
    lines += [f"Related posts (top {k}): tag Dice (log-rank-weighted)"
              + (f", and the author's links found (hit@{k}, recall@{k})" if links else "")
              + ":",
              f"{'method':<16} {'tag Dice':>8}" + (f" {f'hit@{k}':>7} {f'recall@{k}':>9}"
                                                   if links else "")
              + f" {'seconds':>8}  note"]

    def num(v: float | None, width: int) -> str:
        return f"{'-' if v is None else f'{v:.4f}':>{width}}"

    for r in related_rows:
        secs = "" if r["seconds"] is None else f"{r['seconds']:.2f}"
        cols = num(r["score"], 8)
        if links:
            cols += " " + num(r.get(f"hit@{k}"), 7) + " " + num(r.get(f"recall@{k}"), 9)
        lines.append(f"{r['method']:<16} {cols} {secs:>8}  {r['note']}")
    lines += ["", "Tag suggestions (temporal hold-out):",
              format_tag_table(tag_raw) if tag_raw else tag_eval["notes"]["-"]]
    evaluation = {"posts": len(corpus.posts), "k": k, "related": related_rows,
                  "links": links, "tags": tag_raw}
    return "\n".join(lines), evaluation
