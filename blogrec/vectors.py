"""Unit vectors: every cosine in blogrec is an inner product of rows made here."""

from __future__ import annotations

import numpy as np


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Unit rows (float32, C-contiguous for faiss); a zero row stays zero: its cosine
    with anything is 0, never NaN (divide by max(norm, eps))."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)
