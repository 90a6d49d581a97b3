"""The peers' rankings (vectors, sparse TF-IDF/BM25, the posts' own tags, random) and
exact top-k helpers."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..ann import search
from ..features import Features
from ..methods import (
    DEFAULT_K,
)
from ..taxonomy import dice_matrix, tag_matrix
from ..text.matrices import sparse_top_m


def top_k_from_vectors(
    vectors: np.ndarray, k: int = DEFAULT_K, mode: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k neighbours of every row by cosine (rows must be L2-normalised), via faiss:
    exact for small blogs, approximate with exact re-ranking above `ann.AUTO_APPROX_MIN`
    posts (`mode` forces "exact" or "approx").

    Returns (indices, scores), each (n, k); when fewer than k other posts exist the
    missing slots hold index -1 and score 0. Ties go to the smaller index.
    """
    return search(vectors, k, mode=mode)


def top_k_from_similarity(sim: np.ndarray, k: int = DEFAULT_K) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each row of a dense (n, n) similarity matrix, self excluded, stable ties."""
    sim = np.array(sim, dtype=np.float64, copy=True)
    n = sim.shape[0]
    np.fill_diagonal(sim, -np.inf)
    k_eff = min(k, max(n - 1, 0))
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_score = np.zeros((n, k), dtype=np.float32)
    if k_eff == 0:
        return out_idx, out_score
    # A stable sort on the negated, rounded scores keeps the smaller index first on ties.
    order = np.argsort(-np.round(sim, 6), axis=1, kind="stable")[:, :k_eff]
    out_idx[:, :k_eff] = order
    out_score[:, :k_eff] = np.take_along_axis(sim, order, axis=1)
    return out_idx, out_score


def _tag_overlap(features: Features, k: int) -> tuple[np.ndarray, np.ndarray]:
    """What a generator's own "related" lists do (Hugo's default on tags): the Dice of
    the posts' tags, ties by index. It reads the post's own tags: a reference for the
    link measure, not a fair tag Dice score."""
    x, _ = tag_matrix(features.posts, 1, order="key", dtype=np.float32)
    return top_k_from_similarity(dice_matrix(x), k)


def _random_related(n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    idx = np.full((n, k), -1, dtype=np.int64)
    for i in range(n):
        others = np.delete(np.arange(n), i)
        pick = rng.permutation(others)[:k]
        idx[i, : len(pick)] = pick
    return idx, np.zeros((n, k), dtype=np.float32)


def _sparse_related(x: sparse.csr_matrix, k: int, y: sparse.csr_matrix | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    idx, val, *_ = sparse_top_m(x, k, y=y)
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_score = np.zeros((n, k), dtype=np.float32)
    out_idx[:, : idx.shape[1]] = idx
    out_score[:, : idx.shape[1]] = val
    return out_idx, out_score


