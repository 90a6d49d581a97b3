"""Cross-fitted predicted tag profiles: one ridge model per fold, trained on the tagged
posts of the other folds."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..features import Features
from ..folds import FOLDS, fold_labels
from ..methods import RECIPE_FIELDS
from ..ridge import Ridge, RidgeMoments
from ..taxonomy import tag_matrix
from ..vectors import normalize_rows

RIDGE_LAMBDA = 1.0


MIN_TAGGED_POSTS = 20
MIN_TAG_POSTS = 2  # a tag is learnt when at least this many training posts carry it


PROFILE_RANK = 512  # most columns a stored tag profile has (see tag_profile_models)


def _tag_matrix(features: Features) -> tuple[sparse.csr_matrix, list[str]]:
    """(n_posts, n_tags) sparse 0/1 matrix of the tags on at least MIN_TAG_POSTS posts,
    columns in key order."""
    y, vocab = tag_matrix(features.posts, MIN_TAG_POSTS, order="key", dtype=np.float64)
    return y, vocab.keys


def _gram_factor(w: np.ndarray, rank: int) -> np.ndarray:
    """A (d, r) matrix L with L L^T = w w^T (exactly when r = min(d, t) <= rank, else the
    best rank-`rank` approximation): (z @ L) has the same inner products as (z @ w)."""
    d, t = w.shape
    if t <= min(d, rank):
        return w
    vals, vecs = np.linalg.eigh(w @ w.T)
    top = np.argsort(-vals, kind="stable")[: min(d, rank)]
    return vecs[:, top] * np.sqrt(np.maximum(vals[top], 0.0))[None, :]


class TagProfiles:
    """Cross-fitted predicted tag profiles, one model per fold of the blog's posts
    (`folds.fold_labels`): model f is a centred ridge regression (`Ridge(center=True)`)
    from [USE recipe | LSI] to tag indicators, trained on the tagged posts outside fold f.

    `fit` computes each fold's sums once (a model's normal equations are the sums of the
    other folds'); `fold_profiles(f)` then gives P_f, the profiles of ALL posts under
    model f, one fold at a time. Only cosines of profiles are used, so each P_f is stored
    in a basis of at most `rank` columns with the same inner products (`_gram_factor`;
    exact unless the blog has more than `rank` tags and features), float32, rows
    L2-normalised: 100k posts x 3,000 tags would otherwise take 2.4 GB per fold.
    `learnt_` is False when the blog has too few tags to learn from (then the default
    ranks by content only).
    """

    def __init__(self, lam: float = RIDGE_LAMBDA, rank: int = PROFILE_RANK,
                 folds: int = FOLDS) -> None:
        self.lam = lam
        self.rank = rank
        self.folds = folds

    def fit(self, features: Features) -> TagProfiles:
        y, _ = _tag_matrix(features)
        tagged = np.asarray(y.sum(axis=1)).ravel() > 0
        self.learnt_ = bool(tagged.sum() >= MIN_TAGGED_POSTS and y.shape[1] >= 2)
        if not self.learnt_:
            return self
        self.z_ = np.hstack([features.use(RECIPE_FIELDS), features.lsi]).astype(np.float32)
        fold = fold_labels(len(features.posts), self.folds)
        self.moments_ = [Ridge.moments(self.z_[rows], y[rows]) for rows in
                         (np.flatnonzero((fold == f) & tagged) for f in range(self.folds))]
        # each model's tags: those on at least MIN_TAG_POSTS of its training posts
        self.keep_ = [np.flatnonzero(sum(m.ysum for m in self._rest(f)) >= MIN_TAG_POSTS)
                      for f in range(self.folds)]
        self.learnt_ = all(keep.size >= 2 for keep in self.keep_)
        return self

    def _rest(self, f: int) -> list[RidgeMoments]:
        return [m for g, m in enumerate(self.moments_) if g != f]

    def fold_profiles(self, f: int) -> np.ndarray:
        """P_f: the profiles of all posts under the model trained outside fold f."""
        keep = self.keep_[f]
        ridge = Ridge(self.lam, center=True).fit_moments([m.columns(keep)
                                                          for m in self._rest(f)])
        assert ridge.zmean_ is not None
        factor = _gram_factor(ridge.coef_, self.rank).astype(np.float32)
        return normalize_rows(self.z_ @ factor
                              - (ridge.zmean_.astype(np.float32) @ factor)[None, :])


def tag_profile_models(features: Features) -> list[np.ndarray] | None:
    """Every fold's profiles at once (`TagProfiles`); None: too few tags to learn."""
    profiles = TagProfiles().fit(features)
    if not profiles.learnt_:
        return None
    return [profiles.fold_profiles(f) for f in range(profiles.folds)]
