"""The blogrec build as a Prefect flow: thin tasks over `blogrec.build`.

Everything the flow does is in importable functions that the tests call without Prefect.
The embedding step can run on Dask through Prefect's task runner (`prefect-dask`): the
texts the cache does not hold are cut into chunks of whole encoder batches, encoded on
the workers, and put in the cache by the flow process, which then builds as usual.
The results, and the cache file, are the same bytes as a single-process run.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any

# Prefect's temporary server needs ~15 s to start on a quiet 2-core machine and gives up
# after 20 s by default: a busy machine makes one-off runs fail before they start.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

import numpy as np  # noqa: E402
from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from .build import plan, steps  # noqa: E402
from .build.config import BuildConfig, Related, default_cache_dir  # noqa: E402
from .build.runtime import output_lock  # noqa: E402
from .corpus import Corpus  # noqa: E402
from .embeddings.worker import encode_chunk  # noqa: E402
from .features import Features  # noqa: E402
from .store import text_key  # noqa: E402

# Texts per Dask task: whole encoder batches (64), big enough to amortise the model
# load and the transfer, small enough to spread a blog over several workers.
CHUNK_TEXTS = 64 * 8


@task(name="embed chunk", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def embed_chunk(texts: list[str], encoder: str, handle: str | None) -> np.ndarray:
    return encode_chunk(texts, encoder, handle)


def chunks(texts: list[str], size: int = CHUNK_TEXTS) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def embed_distributed(features: Features, config: BuildConfig) -> int:
    """Encode the build's missing texts on the flow's task runner; returns how many."""
    logger = get_run_logger()
    work = [chunk for group in steps.texts_to_encode(features, config)
            for chunk in chunks(group)]
    futures = [embed_chunk.submit(chunk, config.encoder, config.tfhub_handle)
               for chunk in work]
    for chunk, future in zip(work, futures, strict=True):
        for text, vector in zip(chunk, future.result(), strict=True):
            features.cache.put(text_key(text), vector)  # type: ignore[union-attr]
    n = sum(len(c) for c in work)
    logger.info("encoded %d texts in %d chunks on the task runner", n, len(work))
    return n


@task(name="load posts", cache_policy=NO_CACHE)
def load_posts(config: BuildConfig) -> Corpus:
    logger = get_run_logger()
    corpus = steps.read_blog(config)
    logger.info("%d usable posts, %d rejected, %d drafts skipped",
                len(corpus.posts), len(corpus.rejected), len(corpus.skipped))
    for note in corpus.rejected:
        logger.warning("rejected %s: %s", note.path, note.reason)
    return corpus


# The encoder is local CPU work, but a TF Hub model on shared storage, a full disk
# for the cache or a killed worker are transient: retry before failing the run.
@task(name="embed posts", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def embed_posts(corpus: Corpus, config: BuildConfig, distributed: bool = False
                ) -> Features:
    logger = get_run_logger()
    features = steps.make_features(corpus, config)
    if distributed:
        embed_distributed(features, config)
        steps.embed(features, config)
    else:
        steps.embed_in_two_processes(features, config)
    logger.info("embedded %d posts with %s (%d texts encoded, the rest from the cache)",
                len(corpus.posts), features.encoder.model_id, features.encoded)
    return features


# Features holds an encoder and arrays: not hashable, and nothing to cache across runs.
@task(name="related posts", cache_policy=NO_CACHE)
def related_posts(features: Features, config: BuildConfig) -> Related:
    return steps.compute_related(features, config)


@task(name="tag suggestions", cache_policy=NO_CACHE)
def tag_suggestions(features: Features, config: BuildConfig) -> dict[str, Any]:
    return steps.compute_tags(features, config)


@task(name="topic clusters", cache_policy=NO_CACHE)
def topic_clusters(features: Features, config: BuildConfig) -> Any:
    return steps.compute_clusters(features, config)


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(features: Features, related: Related, config: BuildConfig
             ) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    related_eval, tag_eval, seconds = plan.evaluate_build(features, related, config)
    tag_eval.pop("raw")
    return related_eval, tag_eval, seconds


@task(name="export and report", cache_policy=NO_CACHE)
def export(corpus: Corpus, features: Features, related: Related,
           tags: dict[str, Any], clusters: Any, evaluation: tuple[Any, Any, Any] | None,
           config: BuildConfig) -> list[str]:
    from blogrec.report import publish_prefect_artifacts

    logger = get_run_logger()
    related_eval, tag_eval, seconds = evaluation or (None, None, None)
    result = plan.write_outputs(config, corpus, features, related, tags, clusters,
                                    related_eval, tag_eval, method_seconds=seconds)
    features.save_cache()  # the token cache (the embed task saved the embeddings)
    publish_prefect_artifacts(result.data)
    logger.info("wrote %s", ", ".join(result.outputs))
    return result.outputs


@flow(name="blogrec-build", log_prints=True)
def build_flow(
    posts_dir: str,
    out_dir: str = "site_data",
    reports_dir: str = "reports",
    cache_dir: str | None = None,
    strict: bool = False,
    evaluate_output: bool = True,
    distributed: bool = False,
    options: dict[str, Any] | None = None,
) -> list[str]:
    """parse -> embed -> related, tags, clusters -> evaluate -> export + report, with the
    site's JSON written atomically, all files together. `distributed`: embed on the
    flow's task runner (see `run_build_flow`). `options`: any other BuildConfig field."""
    config = BuildConfig(
        posts_dir=posts_dir, out_dir=out_dir, reports_dir=reports_dir,
        cache_dir=cache_dir or default_cache_dir(), strict=strict,
        evaluate=evaluate_output, **(options or {}),
    )
    with output_lock(config):
        corpus = load_posts(config)
        features = embed_posts(corpus, config, distributed)
        related = related_posts(features, config)
        tags = tag_suggestions(features, config)
        clusters = topic_clusters(features, config)
        evaluation = evaluate(features, related, config) if config.evaluate else None
        return export(corpus, features, related, tags, clusters, evaluation, config)


_FLOW_ARGS = {"posts_dir", "out_dir", "reports_dir", "cache_dir", "strict", "evaluate"}


def run_build_flow(config: BuildConfig, dask_address: str | None = None,
                   dask_workers: int = 0) -> list[str]:
    """Run the flow, on Dask when asked: an existing cluster (`dask_address`, e.g.
    tcp://scheduler:8786) or a local one with `dask_workers` worker processes.

    Distributed runs need an on-disk cache (it is how the workers' vectors come back):
    without one, a temporary directory serves for this run.
    """
    distributed = bool(dask_address or dask_workers)
    target = build_flow
    if distributed:
        from prefect_dask import DaskTaskRunner

        runner = DaskTaskRunner(address=dask_address) if dask_address else DaskTaskRunner(
            cluster_kwargs={"n_workers": dask_workers, "threads_per_worker": 1,
                            "processes": True})
        target = build_flow.with_options(task_runner=runner)
    options = {k: v for k, v in dataclasses.asdict(config).items() if k not in _FLOW_ARGS}
    options["fields"] = list(config.fields)
    if config.cluster_range:
        options["cluster_range"] = list(config.cluster_range)
    with tempfile.TemporaryDirectory() as scratch:
        return target(posts_dir=config.posts_dir, out_dir=config.out_dir,
                      reports_dir=config.reports_dir,
                      cache_dir=config.cache_dir or (scratch if distributed else None),
                      strict=config.strict, evaluate_output=config.evaluate,
                      distributed=distributed, options=options)
