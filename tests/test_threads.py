"""build.threads: independent items split between this thread and the build's second
thread (`share`), as a runner of pieces (`sharing`), or all on one thread (`Inline`)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from blogrec.build.threads import Inline, share, sharing


def test_every_item_is_done_once_by_either_thread():
    done: list[tuple[int, int]] = []

    def work(i: int) -> None:
        time.sleep(0.002)
        done.append((i, threading.get_ident()))

    with ThreadPoolExecutor(1) as pool:
        share(list(range(60)), work, pool)
    assert sorted(i for i, _ in done) == list(range(60))
    assert len({t for _, t in done}) == 2


def test_without_a_helper_everything_runs_here_in_order():
    done: list[int] = []
    share([3, 1, 2], done.append)
    assert done == [3, 1, 2]


def test_an_error_on_the_helper_is_raised_here():
    main = threading.get_ident()

    def work(i: int) -> None:
        if threading.get_ident() != main:
            raise ValueError(f"helper failed on {i}")
        time.sleep(0.01)

    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="helper failed"):
        share(list(range(20)), work, pool)


def test_sharing_runs_every_piece_once_and_keeps_their_order():
    pieces = [lambda i=i: i * i for i in range(50)]
    with ThreadPoolExecutor(1) as pool:
        assert sharing(pool)(pieces) == [i * i for i in range(50)]
    assert sharing(None)(pieces) == sharing(Inline())(pieces) == [i * i for i in range(50)]


def test_inline_runs_at_once_and_delivers_errors_through_the_future():
    ran = []
    done = Inline().submit(ran.append, 1)
    assert ran == [1] and done.result() is None
    failed = Inline().submit(int, "x")
    with pytest.raises(ValueError):
        failed.result()
