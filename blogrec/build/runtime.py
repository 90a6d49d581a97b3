"""How a build runs: one at a time per output (a file lock), on one BLAS thread, with
its steps timed."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS, so the BLAS limit covers it)
from filelock import FileLock, Timeout
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .config import BuildConfig, BuildError
from .steps import embed_posts

T = TypeVar("T")

log = logging.getLogger(__name__)

LOCK_NAME = ".blogrec.lock"

@contextmanager
def output_lock(config: BuildConfig, reports_only: bool = False) -> Iterator[None]:
    """One build at a time per output: a second one waits, then refuses.

    Without it two scheduled runs could interleave their renames and leave a
    related.json from one run beside a report from the other. A build locks its site
    data and its reports directories (in a fixed order); `blogrec evaluate`, which writes
    only reports, locks the reports directory.
    """
    dirs = [config.reports_dir] if reports_only else [config.out_dir, config.reports_dir]
    paths = sorted({str(Path(d).resolve() / LOCK_NAME) for d in dirs})
    held: list[Any] = []
    try:
        for path in paths:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(path, timeout=config.lock_timeout)
            try:
                lock.acquire()
            except Timeout:
                raise BuildError(
                    f"another blogrec build is writing to {Path(path).parent} (lock {path} "
                    f"held for more than {config.lock_timeout:g}s); try again when it has "
                    "finished"
                ) from None
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()


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

    def run(self, name: str, fn: Callable[..., T], *args: Any, retries: int = 0) -> T:
        """`fn(*args)` as the step `name`, timed. `retries`: how often a runner that can
        retry may retry a failure that may be transient (this one never retries)."""
        with self.step(name):
            return self.call(name, fn, args, retries)

    def call(self, name: str, fn: Callable[..., T], args: tuple[Any, ...], retries: int) -> T:
        return fn(*args)

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


# Every library the analysis modules import inside functions (lazily, so `blogrec --help`
# starts fast). A build imports them all before its second thread starts: two threads
# importing one package at once can each meet the other's half-initialised module, and
# CI saw exactly that (sklearn's "cannot import name 'clone' from partially initialized
# module"), the t-SNE importing sklearn.manifold while TF-IDF imported
# sklearn.preprocessing. So whatever submits work to a second thread calls
# import_before_threads() first; tests/test_build.py checks the list against the code.
THREADED_IMPORTS = (
    "faiss", "filelock", "fugashi", "threadpoolctl",
    "matplotlib", "matplotlib.figure", "matplotlib.font_manager",
    "scipy.cluster.hierarchy", "scipy.linalg", "scipy.optimize", "scipy.spatial.distance",
    "sklearn.decomposition", "sklearn.linear_model", "sklearn.manifold", "sklearn.metrics",
    "sklearn.preprocessing", "sklearn.utils.extmath",
)


def import_before_threads() -> None:
    """Import THREADED_IMPORTS on the calling thread (see there why), and fill a cache
    that a second thread would otherwise fill slowly."""
    for name in THREADED_IMPORTS:
        importlib.import_module(name)
    # scikit-learn's input check looks for dataframe plugins (narwhals) in the entry
    # points of every installed package, once per process: ~170 small files here. On the
    # t-SNE's thread, each read gave up the GIL to the busy main thread and waited to get
    # it back: 2 s instead of 0.06 s. Any estimator's fit does the lookup.
    StandardScaler().fit(np.zeros((2, 1)))
