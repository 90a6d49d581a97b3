"""Cross-fitting folds: the one scheme every model that learns from the blog's tags uses
(the related posts' tag profiles, the tag signals), so that a post is always held out
with the same others."""

from __future__ import annotations

import numpy as np

FOLDS = 5


def fold_labels(n: int, folds: int = FOLDS) -> np.ndarray:
    """The fold of each of n rows: a seeded permutation of the rows, mod the number of
    folds (at least 2, at most n), so folds are balanced and do not follow file order."""
    rng = np.random.default_rng(0)
    return rng.permutation(n) % max(2, min(folds, n))


def fold_plan(n: int, folds: int = FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, held-out rows) of each fold of n rows (`fold_labels`)."""
    fold = fold_labels(n, folds)
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in np.unique(fold)]
