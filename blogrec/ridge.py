"""Ridge regression of many 0/1 columns at once, fitted from sufficient statistics that
add up over disjoint parts of the rows: the one ridge that the related posts' tag
profiles and the tag model's `lr` signal both use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass
class RidgeMoments:
    """The sufficient statistics of some rows for `Ridge`; they add up over disjoint
    parts."""

    gram: np.ndarray  # Z^T Z
    zsum: np.ndarray  # Z^T 1
    zty: np.ndarray  # Z^T Y, (dim, columns)
    ysum: np.ndarray  # Y^T 1
    count: int

    def columns(self, keep: np.ndarray) -> RidgeMoments:
        """The same rows' statistics for the columns `keep` of Y only."""
        return RidgeMoments(self.gram, self.zsum, self.zty[:, keep], self.ysum[keep],
                            self.count)


class Ridge:
    """Ridge regression of every column of Y at once, tag means removed:
    W = (Z^T Z + lam I)^-1 Z^T (Y - mean), one (dim, dim) solve for all columns whatever
    the blog's size. With `center`, the features are centred on their training mean
    first (`zmean_`; the ridge then leaves the intercept unpenalised).

    It is fitted from the sufficient statistics of its rows (`moments`), which add up over
    disjoint parts: cross-fitting computes each fold's once and every fold model is the
    sum of the others', one pass over the posts instead of one per model.
    """

    def __init__(self, lam: float = 1.0, center: bool = False) -> None:
        self.lam = lam
        self.center = center

    @staticmethod
    def moments(z: np.ndarray, y: sparse.csr_matrix) -> RidgeMoments:
        z = np.asarray(z, dtype=np.float64)
        y = sparse.csr_matrix(y, dtype=np.float64)
        return RidgeMoments(z.T @ z, z.sum(axis=0), np.asarray((y.T @ z).T),
                            np.asarray(y.sum(axis=0)).ravel(), z.shape[0])

    def fit(self, z: np.ndarray, y: sparse.csr_matrix) -> Ridge:
        return self.fit_moments([self.moments(z, y)])

    def fit_moments(self, parts: Sequence[RidgeMoments]) -> Ridge:
        """Fit on the union of the rows whose `moments` are `parts`."""
        gram = sum(p.gram for p in parts)
        zsum = sum(p.zsum for p in parts)
        zty = sum(p.zty for p in parts)
        ysum = sum(p.ysum for p in parts)
        count = sum(p.count for p in parts)
        self.mean_ = ysum / count if count else np.zeros(len(ysum))
        if self.center:
            # Zc^T Zc = Z^T Z - n mu mu^T and Zc^T (Y - 1 mean^T) = Z^T Y - mu (1^T Y):
            # the columns of Zc sum to zero, so Y's mean drops out.
            self.zmean_: np.ndarray | None = zsum / count if count else np.zeros(len(zsum))
            gram = gram - count * np.outer(self.zmean_, self.zmean_)
            zty = zty - np.outer(self.zmean_, ysum)
        else:
            self.zmean_ = None
            # Z^T (Y - 1 mean^T) = Z^T Y - (Z^T 1) mean^T, without densifying Y
            zty = zty - np.outer(zsum, self.mean_)
        self.coef_ = np.linalg.solve(gram + self.lam * np.eye(len(gram)), zty)
        # Scores in float32: half the time of the (posts x dim) @ (dim x tags) products
        # that dominate scoring at 100k posts; a difference of ~1e-7 in a score.
        self.w_ = self.coef_.astype(np.float32)
        return self

    def predict(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float32)
        if self.zmean_ is not None:
            z = z - self.zmean_.astype(np.float32)
        return z @ self.w_ + self.mean_[None, :]
