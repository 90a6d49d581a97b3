"""Top tags of rows of scores over a vocabulary's columns, ties broken alike everywhere."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..taxonomy import TagVocabulary


def rank_tags(scores: np.ndarray, vocab: TagVocabulary, k: int | None
              ) -> list[list[tuple[str, float]]]:
    """Top-k (display, score) of each row; ties: the more frequent tag, then key order."""
    out = []
    for row in np.asarray(scores, dtype=np.float64):
        order = np.lexsort((np.arange(len(row)), -vocab.counts, -np.round(row, 9)))
        out.append([(vocab.display[j], float(row[j])) for j in order[: k or len(row)]])
    return out


def top_suggestions(scores: np.ndarray, vocab: TagVocabulary, k: int,
                    exclude: Sequence[set[str]]) -> list[list[tuple[int, float]]]:
    """Top-k (column, score) of each row of `scores` outside that row's `exclude` keys;
    ties (at 9 decimals): the more frequent tag, then the column.

    One selection for the whole block of rows: per-row numpy calls cost as much as the
    scores themselves at 100k posts. Only the columns at or above each row's k-th best
    allowed score are sorted (thousands of tags, a handful of candidates)."""
    n, t = scores.shape
    out: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    if k <= 0 or t == 0 or n == 0:
        return out
    rounded = np.round(scores, 9)
    banned = np.zeros((n, t), dtype=bool)
    index = vocab.index
    for r, keys in enumerate(exclude):
        banned[r, [index[key] for key in keys if key in index]] = True
    allowed = np.where(banned, -np.inf, rounded)
    kth = min(k, t)
    cut = np.partition(allowed, t - kth, axis=1)[:, t - kth]  # every tie of it stays in
    rows, cols = np.nonzero((allowed >= cut[:, None]) & ~banned)
    order = np.lexsort((cols, -vocab.counts[cols], -rounded[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n + 1))
    for r in range(n):
        top = cols[starts[r] : min(starts[r + 1], starts[r] + k)]
        out[r] = list(zip(top.tolist(), scores[r, top].tolist(), strict=True))
    return out


def row_suggestions(row: np.ndarray, vocab: TagVocabulary, k: int, exclude: set[str]
                    ) -> list[tuple[int, float]]:
    """Top-k (column, score) of one row outside `exclude` (see `top_suggestions`)."""
    return top_suggestions(row[None, :], vocab, k, [exclude])[0]
