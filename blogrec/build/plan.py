"""The build, as plain functions: parse -> embed -> related -> tags -> clusters -> export
-> report.

The CLI and the Prefect flow both call these; neither holds logic of its own. Nothing
is written until every output has been computed, and then all files are put in place
together (`export.OutputBatch`), so a failed or killed build keeps the previous output.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .. import report as report_mod
from ..clusters import DEFAULT_SEED
from ..corpus import Corpus
from ..embeddings.encoders import Progress, get_encoder
from ..evaluation.compare import evaluate_published, format_tag_table
from ..features import Features
from ..figures import map_coordinates, map_rows, report_section
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
from ..related import RECIPE_FIELDS
from ..store import OutputBatch, dumps
from ..tags import prepare_name_matches
from .config import BuildConfig, BuildResult, Related
from .runtime import _Steps, import_before_threads, one_blas_thread, output_lock
from .state import input_fingerprint, record_state, up_to_date
from .steps import (
    build_report,
    compute_clusters,
    compute_related,
    compute_tags,
    diversity_extra,
    embed,
    embed_in_two_processes,
    finish_encoding,
    make_features,
    read_blog,
    start_encoding,
    submit_encoding,
)

log = logging.getLogger(__name__)

def _timed(seconds: dict[str, float] | None, name: str, fn: Any, features: Features,
           config: BuildConfig) -> Any:
    steps = _Steps()
    if seconds is not None:
        steps.seconds = seconds
    with steps.step(name):
        return fn(features, config)


def submit_clusters(features: Features, config: BuildConfig, beside: ThreadPoolExecutor,
                    seconds: dict[str, float] | None = None) -> Future[Any]:
    """`compute_clusters` on the `beside` thread pool (its time in `seconds`); then, on
    the same thread, the tag model's name matching (`tags.prepare_name_matches`): it is
    pure Python, so it is best done beside this thread's numpy and faiss work (related
    posts) rather than in the tags' fit, where it had one core to itself (~15 s at 100k
    posts). Should it fail, the fit matches on its own and raises the error there."""
    import_before_threads()
    clusters = beside.submit(_timed, seconds, "clusters", compute_clusters, features, config)
    beside.submit(prepare_name_matches, features)
    return clusters


def compute_tags_and_clusters(features: Features, config: BuildConfig,
                              beside: ThreadPoolExecutor | None = None,
                              seconds: dict[str, float] | None = None,
                              clusters: Future[Any] | None = None) -> tuple[Any, Any]:
    """The tag model's payload and the topic clusters. With `beside` (a thread pool) the
    clusters are computed there while this thread fits the tags: faiss's k-means releases
    the GIL, so the machine's other core does it (at 100k posts ~20 s of k-means that no
    longer add to the build). The same results as in line. `seconds` receives each one's
    own duration ("tags", "clusters"). clusters: the future of an earlier
    `submit_clusters`, if the caller already started them."""
    if beside is None:
        return (_timed(seconds, "tags", compute_tags, features, config),
                _timed(seconds, "clusters", compute_clusters, features, config))
    if clusters is None:
        clusters = submit_clusters(features, config, beside, seconds)
    # (should the tags fail, the pool's owner waits for the clusters before it unwinds)
    # Once the clusters are done, the pool's thread may score some of the posts' tags.
    tags = _timed(seconds, "tags", partial(compute_tags, helper=beside), features, config)
    return tags, clusters.result()


def evaluate_build(features: Features, related: Related, config: BuildConfig,
                   compare: bool = False, holdout: float = 0.17, cutoff: str | None = None,
                   ) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    """`evaluation.compare.evaluate_published` of the build's related posts."""
    return evaluate_published(features, related.idx, related.method, k=config.k,
                              tfhub_handle=config.tfhub_handle, tag_weight=config.tag_weight,
                              compare=compare, holdout=holdout, cutoff=cutoff)


def _read_embed_relate(config: BuildConfig, progress: Progress | None, steps: _Steps,
                       beside: ThreadPoolExecutor | None = None,
                       ) -> tuple[Corpus, Features, Related, Future[Any] | None,
                                  Future[Any] | None]:
    """The steps every run starts with: parse, embed, related.

    With `beside` (a thread pool), the report map's t-SNE, which only needs the
    embeddings, runs next to the later steps on the machine's other core (its gradient
    loop releases the GIL; ja-efcl's report figures went from 4.1 s to 1.0 s). The same
    result as in line. The clusters are submitted there too, before the map: the tags
    wait for them, only the report for the map. Cache misses are encoded in a child
    process (`start_encoding`, started before the parse so it loads the model meanwhile)
    while this one imports the analysis's libraries, tokenises and fits the LSI: a cold
    ja-efcl CLI build on this 2-core VM went from 15.3 s to 11.7 s (same minutes). A
    thread instead of a process lost 1.6 s: MeCab and the word filter hold the GIL that
    the encoder's many small numpy calls need. Returns the map's and the clusters'
    futures (None without `beside`)."""
    # made once (no model loaded yet): for a local TF Hub model that hashes its files
    encoder = get_encoder(config.encoder, config.tfhub_handle)
    job = start_encoding(config, encoder, progress) if beside is not None else None
    try:
        with steps.step("parse"):
            corpus = read_blog(config)
            features = make_features(corpus, config, progress, encoder)
            job = submit_encoding(features, config, job)
        if job is not None:
            # What needs no vectors, while the encoder runs on the other core.
            with steps.step("lexical"):
                import_before_threads()
                features.lsi  # noqa: B018  (memoised; related and tags read it)
        with steps.step("embed"):
            if job is not None:
                job.help(features.encoder)  # type: ignore[arg-type]  (same model: submit)
                finish_encoding(features, job)
            if beside is None:  # nothing to overlap: split the encoding between processes
                embed_in_two_processes(features, config, progress)
            else:
                embed(features, config)
    finally:
        if job is not None:
            job.close()
    coordinates = clusters = None
    if beside is not None:
        # The clusters first: the tags wait for them, only the report for the map.
        clusters = submit_clusters(features, config, beside, steps.seconds)
        rows = map_rows(len(features.posts), DEFAULT_SEED)
        coordinates = beside.submit(map_coordinates, features.use(RECIPE_FIELDS)[rows],
                                    DEFAULT_SEED)
    with steps.step("related"):
        related = compute_related(features, config, helper=beside)
    return corpus, features, related, coordinates, clusters


def run_build(config: BuildConfig, progress: Progress | None = None) -> BuildResult:
    """The whole build, under the output lock; skipped (result.skipped) when nothing it
    depends on changed since the last build and its output is intact (`config.force`
    builds anyway)."""
    with output_lock(config):
        start = time.perf_counter()
        fingerprint = input_fingerprint(config)
        previous = None if config.force else up_to_date(config, fingerprint)
        if previous is not None:
            log.info("nothing changed since the last build (checked in %.2fs)",
                     time.perf_counter() - start)
            return BuildResult(None, None, sorted(previous["outputs"]), previous["report"], {},
                               {"check": time.perf_counter() - start}, skipped=True)
        result = _run_build(config, progress)
        record_state(config, fingerprint, result.outputs)
        return result


def _run_build(config: BuildConfig, progress: Progress | None) -> BuildResult:
    with one_blas_thread():
        return _run_build_steps(config, progress)


def _run_build_steps(config: BuildConfig, progress: Progress | None) -> BuildResult:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="blogrec") as beside:
        return _build_with(config, progress, beside)


def _build_with(config: BuildConfig, progress: Progress | None, beside: ThreadPoolExecutor
                ) -> BuildResult:
    steps = _Steps()
    corpus, features, related, coordinates, started = _read_embed_relate(
        config, progress, steps, beside)
    tags, clusters = compute_tags_and_clusters(features, config, beside, steps.seconds,
                                               clusters=started)
    method_seconds: dict[str, float] = {}
    related_eval = tag_eval = None
    if config.evaluate:
        with steps.step("evaluate"):
            related_eval, tag_eval, method_seconds = evaluate_build(features, related, config)
            tag_eval.pop("raw")
    result = write_outputs(config, corpus, features, related, tags, clusters,
                           related_eval, tag_eval, steps, method_seconds,
                           coordinates=coordinates.result() if coordinates else None)
    features.save_cache()  # the tokens (embeddings were saved by the embed step)
    return result


def write_outputs(config: BuildConfig, corpus: Corpus, features: Features, related: Related,
                  tags: dict[str, Any], clusters: Any, related_eval: dict[str, Any] | None,
                  tag_eval: dict[str, Any] | None, steps: _Steps | None = None,
                  method_seconds: dict[str, float] | None = None, site: bool = True,
                  coordinates: tuple[np.ndarray, str] | None = None) -> BuildResult:
    """Render every output, then put them all in place together (site=False: only the
    reports, as `blogrec evaluate` does; coordinates: the map's, if already computed)."""
    steps = steps or _Steps()
    out, reports = Path(config.out_dir), Path(config.reports_dir)
    model = features.encoder.model_id if features.encoder else "none"
    with OutputBatch() as batch:
        with steps.step("export"):
            summary = build_report(corpus, features, related.method)
            if site:
                extra = diversity_extra(corpus, related, clusters) \
                    if config.diversity_slot else None
                batch.add_json(out / RELATED_JSON, related_payload(
                    corpus.posts, related.idx, related.scores, related.method, model, extra))
                batch.add_json(out / TAGS_JSON, tags)
                batch.add_json(out / CLUSTERS_JSON,
                               clusters_payload(clusters, corpus.posts))
                if config.export_vectors:
                    batch.add_json(out / VECTORS_JSON, vectors_payload(
                        corpus.posts, features.use(config.fields), model))
                batch.add_json(reports / BUILD_REPORT, summary)
        # The report's figures (dendrogram, map) in their own step, so that timings.json,
        # written by the report step, shows them.
        with steps.step("figures"):
            data: dict[str, Any] = {"blog": Path(config.posts_dir).resolve().name,
                                    "corpus": summary}
            data.update(report_section(clusters, corpus.posts,
                                                    features.use(RECIPE_FIELDS),
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


def run_evaluation(config: BuildConfig, compare: bool = False, holdout: float = 0.17,
                   cutoff: str | None = None, progress: Progress | None = None
                   ) -> tuple[str, list[str]]:
    """`blogrec evaluate`: the tables as text, and the report written to config.reports_dir
    (plus evaluation.json/.md with each method's time). Writes no site data."""
    with output_lock(config, reports_only=True), one_blas_thread():
        return _run_evaluation(config, compare, holdout, cutoff, progress)


def _run_evaluation(config: BuildConfig, compare: bool, holdout: float, cutoff: str | None,
                    progress: Progress | None) -> tuple[str, list[str]]:

    steps = _Steps()
    corpus, features, related, _, _ = _read_embed_relate(config, progress, steps)
    with steps.step("clusters"):
        clusters = compute_clusters(features, config)
    with steps.step("evaluate"):
        related_eval, tag_eval, seconds = evaluate_build(
            features, related, config, compare=compare, holdout=holdout, cutoff=cutoff)
        tag_raw = tag_eval.pop("raw")
    features.save_cache()
    related_rows = [{**r, "seconds": seconds.get(f"related:{r['method']}")}
                    for r in related_eval["rows"]]
    lines = [f"{len(corpus.posts)} posts, {sum(1 for p in corpus.posts if p.tags)} with tags",
             "", f"Related posts (top {config.k}, log-rank-weighted tag Dice):",
             f"{'method':<24} {'score':>7} {'seconds':>8}  note"]
    for r in related_rows:
        score = "-" if r["score"] is None else f"{r['score']:.4f}"
        secs = "" if r["seconds"] is None else f"{r['seconds']:.2f}"
        lines.append(f"{r['method']:<24} {score:>7} {secs:>8}  {r['note']}")
    lines += ["", "Tag suggestions (temporal hold-out):",
              format_tag_table(tag_raw) if tag_raw else tag_eval["notes"]["-"]]
    text = "\n".join(lines)
    evaluation = {"posts": len(corpus.posts), "k": config.k, "related": related_rows,
                  "tags": tag_raw}
    result = write_outputs(config, corpus, features, related, {}, clusters, related_eval,
                           tag_eval, steps, seconds, site=False)
    extra = [Path(config.reports_dir) / "evaluation.json", Path(config.reports_dir) /
             "evaluation.md"]
    with OutputBatch() as batch:
        batch.add(extra[0], dumps(evaluation))
        batch.add(extra[1], ("# blogrec evaluation\n\n```\n" + text + "\n```\n").encode())
        written = batch.commit()
    return text, result.outputs + written
