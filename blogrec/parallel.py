"""Sharing independent pieces of work between the calling thread and a helper thread.

The build has a second thread (a one-worker pool) for the clusters and the report's
map. When it has nothing else to do, it can take some of the blocks of a step whose
blocks are big numpy products (they release the GIL). Each block depends only on its
inputs, so the result is the same whoever computes which block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def share(items: Sequence[T], work: Callable[[T], None],
          helper: ThreadPoolExecutor | None = None) -> None:
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
