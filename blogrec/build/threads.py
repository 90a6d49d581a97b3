"""The build's second thread: the pieces of a step shared between two threads.

The build has a second thread (a one-worker pool) for the clusters and the report's
map. When it has nothing else to do, it takes some of the pieces of a step whose
pieces are big numpy products (they release the GIL). Each piece depends only on the
fitted model, so the result is the same whoever computes which.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from ..work import Piece, Runner, in_order

T = TypeVar("T")


def share(items: Sequence[T], work: Callable[[T], None],
          helper: Executor | None = None) -> None:
    """Call `work(item)` once for every item, on this thread and on `helper`'s.

    Items go to whichever thread asks first. A helper still queued behind other work
    when the items run out is cancelled, never waited for. Should `work` fail on this
    thread, the helper takes no further item; its own error is raised here.
    """
    lock = threading.Lock()
    state = {"next": 0, "stop": False}

    def run() -> None:
        while True:
            with lock:
                i = state["next"]
                if state["stop"] or i >= len(items):
                    return
                state["next"] = i + 1
            work(items[i])

    other = helper.submit(run) if helper is not None and len(items) > 1 else None
    try:
        run()
    finally:
        state["stop"] = True
        if other is not None and not other.cancel():
            other.result()


class Inline(Executor):
    """An executor that runs each submitted call at once, on the calling thread: the
    build's "second thread" when it is asked to use one thread only."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered by future.result(), as a pool would
            future.set_exception(exc)
        return future


def beside_executor(threads: int) -> Executor:
    """The build's second thread (`threads` >= 2), or `Inline` (1)."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if threads == 1:
        return Inline()
    return ThreadPoolExecutor(1, thread_name_prefix="blogrec")


def sharing(helper: Executor | None) -> Runner:
    """A runner (see `work`) whose pieces this thread and `helper`'s share (`share`);
    `in_order` without a helper (or with `Inline`)."""
    if helper is None or isinstance(helper, Inline):
        return in_order

    def run(pieces: Sequence[Piece[Any]]) -> list[Any]:
        results: list[Any] = [None] * len(pieces)

        def one(i: int) -> None:
            results[i] = pieces[i]()

        share(range(len(pieces)), one, helper)
        return results

    return run
