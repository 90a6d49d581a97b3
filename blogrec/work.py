"""Pieces of work: a model's independent parts, and running them.

A model with parts that need not run in order (folds, blocks of rows) exposes them as
zero-argument callables and takes a `Runner` to run them; the default runs them here,
in order. The build passes a runner that shares them with its second thread: each
piece depends only on the fitted model, so the results are the same whoever runs which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
Piece = Callable[[], T]
Runner = Callable[[Sequence[Piece[T]]], list[T]]


def in_order(pieces: Sequence[Piece[T]]) -> list[T]:
    """Run every piece on this thread, in order; their results in the same order."""
    return [piece() for piece in pieces]
