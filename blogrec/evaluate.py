"""The reference study's score for related posts: log-rank-weighted tag Dice.

For each post p with tags and its ranked related posts q_1..q_k:

    score(p) = sum_r Dice(T_p, T_{q_r}) / log2(r + 1)  /  sum_r 1 / log2(r + 1)

with Dice(A, B) = 2|A & B| / (|A| + |B|) (0 when both are empty), r = 1..k, and a
missing related slot counting as 0. The blog's score is the mean over posts with tags;
it lies in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .corpus import tag_key


def dice(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    """Dice coefficient of two tag sets; 0 when both are empty."""
    if not a and not b:
        return 0.0
    return 2.0 * len(a & b) / (len(a) + len(b))


def rank_weights(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def tag_sets(posts: Sequence[object]) -> list[frozenset[str]]:
    return [frozenset(tag_key(t) for t in p.tags) for p in posts]  # type: ignore[attr-defined]


def related_score(
    tags: Sequence[frozenset[str]], neighbours: np.ndarray, k: int = 4
) -> float:
    """Mean log-rank-weighted Dice over posts with tags (see module docstring)."""
    w = rank_weights(k)
    total, counted = 0.0, 0
    for i, t in enumerate(tags):
        if not t:
            continue
        s = sum(
            w[r] * dice(t, tags[j]) for r, j in enumerate(neighbours[i][:k]) if j >= 0
        )
        total += s / w.sum()
        counted += 1
    return total / counted if counted else 0.0


def random_score(tags: Sequence[frozenset[str]]) -> float:
    """Expected score of a uniformly random ranking, computed exactly.

    Under a random ranking every rank holds any other post with equal probability,
    so the expectation is the mean Dice of a post with all others.
    """
    n = len(tags)
    if n < 2:
        return 0.0
    vocab = sorted(set().union(*tags))
    col = {t: c for c, t in enumerate(vocab)}
    m = np.zeros((n, len(vocab)), dtype=np.float32)
    for i, t in enumerate(tags):
        for x in t:
            m[i, col[x]] = 1.0
    inter = m @ m.T
    sizes = m.sum(axis=1)
    denom = sizes[:, None] + sizes[None, :]
    d = np.divide(2 * inter, denom, out=np.zeros_like(inter), where=denom > 0)
    np.fill_diagonal(d, 0.0)
    has = sizes > 0
    return float((d[has].sum(axis=1) / (n - 1)).mean()) if has.any() else 0.0


def compare_related(
    features: object,
    methods: Sequence[str] | None = None,
    k: int = 4,
    tfhub_handle: str | None = None,
) -> list[dict]:
    """Score every related-post method on `features` (a blogrec.features.Features).

    One row per method: method, score (related_score; the "random" row is the exact
    expectation from random_score), seconds (wall time of the method including the
    features it computes first; features shared with an earlier row are already
    memoised), note ("skipped: ..." when a method cannot run).
    """
    import time

    from .related import METHODS, related_for

    tags = tag_sets(features.posts)  # type: ignore[attr-defined]
    rows: list[dict] = []
    for method in methods or METHODS:
        start = time.perf_counter()
        note = ""
        if method == "random":
            score: float | None = random_score(tags)
            note = "exact expectation"
        elif method == "use-large" and not tfhub_handle:
            score, note = None, "skipped: no TF Hub handle"
        else:
            idx, _ = related_for(method, features, k=k, tfhub_handle=tfhub_handle)  # type: ignore[arg-type]
            score = float(related_score(tags, idx, k))
        rows.append({"method": method, "score": score,
                     "seconds": round(time.perf_counter() - start, 3), "note": note})
    return rows
