"""The default's candidate lists and each signal's exact per-query statistics (the
z-scores' mean and standard deviation over all other posts)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..ann import candidate_params, choose_mode, search

MOMENT_BLOCK = 8192  # rows per float32 product in _dense_moments


def _dense_top_m(
    x: np.ndarray, m: int, queries: np.ndarray | None = None, mode: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Top-m inner-product neighbours of `queries` rows of x (all rows by default), self
    excluded, through `ann.search` (exact or approximate by size, see `mode`; the
    approximate index scans fewer lists, see `candidate_params`)."""
    n = x.shape[0]
    params = candidate_params(n, x.shape[1]) if choose_mode(n, mode) == "approx" else None
    if queries is None:
        return search(x, min(m, max(n - 1, 0)), mode=mode, params=params)
    m = min(m, max(n - 1, 0))
    idx = np.full((len(queries), m), -1, dtype=np.int64)
    if m == 0 or len(queries) == 0:
        return idx, np.zeros((len(queries), m), dtype=np.float32)
    found, _ = search(x, m + 1, queries=x[queries], mode=mode, exclude_self=False,
                      params=params)
    for r, i in enumerate(queries):
        row = [int(j) for j in found[r] if j >= 0 and j != i][:m]
        idx[r, : len(row)] = row
    return idx, np.zeros_like(idx, dtype=np.float32)


def _dense_moments(x: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and std of <x_q, x_j> over all j != q, from first and second moments.

    The products run in float32 (half the time of float64 at 100k x 512, where this was
    a fifth of the step), over blocks of rows whose sums are accumulated in float64.
    """
    x32 = np.asarray(x, dtype=np.float32)
    n, dim = x32.shape
    if n < 2:
        return np.zeros(len(queries)), np.zeros(len(queries))
    total = x32.sum(axis=0, dtype=np.float64)
    gram = np.zeros((dim, dim))
    for start in range(0, n, MOMENT_BLOCK):
        block = x32[start : start + MOMENT_BLOCK]
        gram += block.T @ block
    xq = x32[queries]
    self_sim = np.einsum("ij,ij->i", xq, xq, dtype=np.float64)
    s1 = xq @ total - self_sim
    s2 = np.einsum("ij,ij->i", xq @ gram.astype(np.float32), xq, dtype=np.float64) \
        - self_sim**2
    mean = s1 / (n - 1)
    var = np.maximum(s2 / (n - 1) - mean**2, 0.0)
    return mean, np.sqrt(var)


def _pair_dots(x: np.ndarray, rows: np.ndarray, cols: np.ndarray,
               chunk: int = 256) -> np.ndarray:
    """<x_rows[r], x_cols[r, c]> for a candidate table cols (-1 = none -> nan).

    In chunks of rows: gathering every candidate's vector at once took rows x width x dim
    floats (1.5 GB for 745 posts, far more at blog-platform scale).
    """
    safe = np.where(cols >= 0, cols, 0)
    out = np.empty(cols.shape, dtype=np.float64)
    for start in range(0, len(rows), chunk):
        part = slice(start, start + chunk)
        out[part] = np.einsum("rd,rcd->rc", x[rows[part]], x[safe[part]])
    return np.where(cols >= 0, out, np.nan)


def _sparse_pair_dots(x: sparse.csr_matrix, xt: sparse.csr_matrix, rows: np.ndarray,
                      cols: np.ndarray, chunk: int = 256) -> np.ndarray:
    """<x_rows[r], x_cols[r, c]> of a sparse matrix (xt = x.T as CSR) for a candidate
    table cols (-1 = none -> nan), from `chunk` rows of similarities at a time."""
    safe = np.where(cols >= 0, cols, 0)
    out = np.empty(cols.shape, dtype=np.float64)
    for start in range(0, len(rows), chunk):
        part = slice(start, start + chunk)
        sims = (x[rows[part]] @ xt).toarray()
        out[part] = np.take_along_axis(sims, safe[part], axis=1)
    return np.where(cols >= 0, out, np.nan)


def _z(values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (values - mean[:, None]) / np.maximum(std, 1e-9)[:, None]


