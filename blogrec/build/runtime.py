"""How a build is run: one at a time per output (a file lock), skipped when nothing
changed since the last one. The models, and numpy, are imported only once a build must
run: the up-to-date check of an unchanged blog costs well under a second."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from .config import BuildConfig, BuildError, BuildResult
from .state import input_fingerprint, record_state, up_to_date

if TYPE_CHECKING:
    from ..embeddings.encoders import Progress
    from .plan import Steps

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


def run_build(config: BuildConfig, progress: Progress | None = None,
              steps: Steps | None = None, threads: int = 2) -> BuildResult:
    """The whole build: under the output lock, skipped (result.skipped) when nothing it
    depends on changed since the last build and its output is intact (`config.force`
    builds anyway), else the plan (`plan.build_plan`) on one BLAS thread with a second
    thread beside. `steps`: how each step runs (default: here, timed); `threads`: 1
    runs everything on this thread (the same bytes, slower)."""
    with output_lock(config):
        start = time.perf_counter()
        fingerprint = input_fingerprint(config)
        previous = None if config.force else up_to_date(config, fingerprint)
        if previous is not None:
            log.info("nothing changed since the last build (checked in %.2fs)",
                     time.perf_counter() - start)
            return BuildResult(None, None, sorted(previous["outputs"]), previous["report"], {},
                               {"check": time.perf_counter() - start}, skipped=True)
        # Imported only now (the check above needs neither): reading the blog (numpy, the
        # encoders, ~0.15 s) and, below, the plan (the models, ~1.5 s).
        from ..embeddings.encoders import get_encoder
        from .reading import read_and_submit

        # The encoding child first, and its texts, so that it encodes while this process
        # imports the models and tokenises.
        encoder = get_encoder(config.encoder, config.tfhub_handle)
        early = read_and_submit(config, encoder, progress) \
            if steps is None or steps.encode_beside else None
        try:
            from .plan import build_in

            result = build_in(config, steps, progress, threads, encoder, early)
        finally:
            if early is not None and early.job is not None:
                early.job.close()
        record_state(config, fingerprint, result.outputs)
        return result


def run_evaluation(config: BuildConfig, compare: bool = False, holdout: float = 0.17,
                   cutoff: str | None = None, progress: Progress | None = None
                   ) -> tuple[str, list[str]]:
    """`blogrec evaluate`: the tables as text, and the report written to config.reports_dir
    (plus evaluation.json/.md with each method's time). Writes no site data."""
    from .plan import evaluate_in

    with output_lock(config, reports_only=True):
        return evaluate_in(config, compare, holdout, cutoff, progress)
