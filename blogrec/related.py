"""Related posts: the top-k most similar other posts, self excluded, ties broken by index."""

from __future__ import annotations

import numpy as np

DEFAULT_K = 4


def top_k_from_vectors(vectors: np.ndarray, k: int = DEFAULT_K) -> tuple[np.ndarray, np.ndarray]:
    """Top-k neighbours of every row by cosine (rows must be L2-normalised), via faiss.

    Returns (indices, scores), each (n, k); when fewer than k other posts exist the
    missing slots hold index -1 and score 0.
    """
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = x.shape[0]
    k_eff = min(k, max(n - 1, 0))
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_score = np.zeros((n, k), dtype=np.float32)
    if k_eff == 0:
        return out_idx, out_score
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    # Ask for a few extra so that self and ties at the cut can be resolved here.
    want = min(n, k_eff + 1 + 4)
    scores, idx = index.search(x, want)
    for i in range(n):
        pairs = zip(scores[i], idx[i], strict=True)
        cand = [(float(s), int(j)) for s, j in pairs if j >= 0 and j != i]
        # Deterministic ties: higher score first, then the smaller index (posts are sorted).
        cand.sort(key=lambda sj: (-round(sj[0], 6), sj[1]))
        for r, (s, j) in enumerate(cand[:k_eff]):
            out_idx[i, r] = j
            out_score[i, r] = s
    return out_idx, out_score


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
