"""The build as a Prefect flow: the plan of `blogrec.build`, each step a Prefect task.

`build_flow` runs `build.run_build` with `TaskSteps`: the same lock, unchanged-blog
skip, BLAS limit, second thread and steps as `blogrec build`; only each step of the
plan is a task (retried where a failure may be transient: the embedding). With
`distributed`, the texts the cache does not hold are cut into chunks of whole encoder
batches, encoded on the flow's task runner (Dask, through `prefect-dask`), and put in
the cache by the flow process, which then builds as usual. The results, and the cache
file, are the same bytes as a single-process run. `flows/build_flow.py` runs it once or
serves it on a schedule.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any, TypeVar

# Prefect's temporary server needs ~15 s to start on a quiet 2-core machine and gives up
# after 20 s by default: a busy machine makes one-off runs fail before they start.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

import numpy as np  # noqa: E402
from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from .build import BuildConfig, Steps, run_build  # noqa: E402
from .build.steps import embed, texts_to_encode  # noqa: E402
from .embeddings.worker import encode_chunk  # noqa: E402
from .features import Features  # noqa: E402
from .report import publish_prefect_artifacts  # noqa: E402
from .store import text_key  # noqa: E402

T = TypeVar("T")
# Texts per Dask task: whole encoder batches (64), big enough to amortise the model
# load and the transfer, small enough to spread a blog over several workers.
CHUNK_TEXTS = 64 * 8
RETRY_DELAY_SECONDS = 5


@task(name="embed chunk", retries=2, retry_delay_seconds=RETRY_DELAY_SECONDS,
      cache_policy=NO_CACHE)
def embed_chunk(texts: list[str], encoder: str, handle: str | None) -> np.ndarray:
    return encode_chunk(texts, encoder, handle)


def chunks(texts: list[str], size: int = CHUNK_TEXTS) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def embed_distributed(features: Features, config: BuildConfig) -> int:
    """Encode the build's missing texts on the flow's task runner; returns how many."""
    logger = get_run_logger()
    work = [chunk for group in texts_to_encode(features, config) for chunk in chunks(group)]
    futures = [embed_chunk.submit(chunk, config.encoder, config.tfhub_handle)
               for chunk in work]
    for chunk, future in zip(work, futures, strict=True):
        for text, vector in zip(chunk, future.result(), strict=True):
            features.cache.put(text_key(text), vector)  # type: ignore[union-attr]
    n = sum(len(c) for c in work)
    logger.info("encoded %d texts in %d chunks on the task runner", n, len(work))
    return n


class TaskSteps(Steps):
    """Each step of the plan runs as a Prefect task of the current flow run (data stay
    in memory: no result caching). `distributed`: embed on the flow's task runner
    instead of in a child process."""

    def __init__(self, distributed: bool = False) -> None:
        super().__init__()
        self.distributed = distributed
        self.encode_beside = not distributed

    def call(self, name: str, fn: Callable[..., T], args: tuple[Any, ...],
             kwargs: dict[str, Any], retries: int) -> T:
        step = task(fn, name=name, retries=retries, retry_delay_seconds=RETRY_DELAY_SECONDS,
                    cache_policy=NO_CACHE)
        return step(*args, **kwargs)

    def embed(self, features: Any, config: BuildConfig, job: Any) -> None:
        if self.distributed:
            embed_distributed(features, config)
            embed(features, config)
        else:
            super().embed(features, config, job)


@flow(name="blogrec-build", log_prints=True)
def build_flow(posts_dir: str, options: dict[str, Any] | None = None,
               distributed: bool = False) -> list[str]:
    """`blogrec build POSTS_DIR` as a flow run. `options`: `BuildConfig` fields (the
    same names and values as `BuildConfig.to_options()`); `distributed`: embed on the
    flow's task runner (see `run_build_flow`). Returns the files the build wrote, or
    those of the last build when nothing changed since (the run is then skipped)."""
    logger = get_run_logger()
    config = BuildConfig(posts_dir=posts_dir, **(options or {}))
    result = run_build(config, steps=TaskSteps(distributed))
    if result.skipped:
        logger.info("nothing changed since the last build: skipped (%d files up to date)",
                    len(result.outputs))
        return result.outputs
    publish_prefect_artifacts(result.data)
    logger.info("wrote %s", ", ".join(result.outputs))
    return result.outputs


def run_build_flow(config: BuildConfig, dask_address: str | None = None,
                   dask_workers: int = 0) -> list[str]:
    """Run the flow once, on Dask when asked: an existing cluster (`dask_address`, e.g.
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
    options = config.to_options()
    with tempfile.TemporaryDirectory() as scratch:
        if distributed and not config.cache_dir:
            options["cache_dir"] = scratch
        return target(posts_dir=config.posts_dir, options=options, distributed=distributed)
