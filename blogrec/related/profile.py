"""Cross-fitted predicted tag profiles: one ridge model per fold, trained on the tagged
posts of the other folds."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from ..features import Features
from ..folds import FOLDS, fold_labels
from ..methods import (
    RECIPE_FIELDS,
)
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


def tag_profile_models(features: Features) -> list[np.ndarray] | None:
    """One profile matrix per fold: P_f = profiles of ALL posts under the model of fold f.

    Model f is a centred ridge regression from [USE recipe | LSI] to tag indicators,
    trained on the tagged posts outside fold f. Only cosines of profiles are used, so
    each P_f is stored in a basis of at most PROFILE_RANK columns with the same inner
    products (`_gram_factor`; exact unless the blog has more than PROFILE_RANK tags and
    features), float32, rows L2-normalised: 100k posts x 3,000 tags would otherwise take
    2.4 GB per fold. None when the blog has too few tags to learn from (then the default
    falls back to content only).
    """
    state = _profile_setup(features)
    if state is None:
        return None
    out = []
    for f in range(FOLDS):
        p = _fold_profiles(state, f)
        if p is None:
            return None
        out.append(p)
    return out


def _profile_setup(features: Features) -> dict[str, Any] | None:
    """What every fold's profile model needs: the features and per-fold sums of the
    normal equations (None: too few tags to learn from)."""
    y, _ = _tag_matrix(features)
    n = len(features.posts)
    tagged = np.asarray(y.sum(axis=1)).ravel() > 0
    if tagged.sum() < MIN_TAGGED_POSTS or y.shape[1] < 2:
        return None
    z = np.hstack([features.use(RECIPE_FIELDS), features.lsi]).astype(np.float32)
    fold = fold_labels(n, FOLDS)
    # Per-fold sums, so that each model's (centred) normal equations are the totals minus
    # its own fold's part: one pass over the posts instead of FOLDS - 1.
    sums: dict[str, list[Any]] = {"gram": [], "zsum": [], "yz": [], "ysum": [], "count": []}
    for f in range(FOLDS):
        rows = np.flatnonzero((fold == f) & tagged)
        zf = z[rows].astype(np.float64)
        sums["gram"].append(zf.T @ zf)
        sums["zsum"].append(zf.sum(axis=0))
        sums["yz"].append(np.asarray((y[rows].T @ zf).T))  # (dim, tags)
        sums["ysum"].append(np.asarray(y[rows].sum(axis=0)).ravel())
        sums["count"].append(len(rows))
    if any(_fold_keep(sums, f).size < 2 for f in range(FOLDS)):
        return None
    return {"z": z, **sums}


def _fold_keep(state: dict[str, Any], f: int) -> np.ndarray:
    y_sum = sum(state["ysum"][g] for g in range(FOLDS) if g != f)
    return np.flatnonzero(y_sum >= MIN_TAG_POSTS)


def _fold_profiles(state: dict[str, Any], f: int) -> np.ndarray | None:
    """P_f: the profiles of all posts under the model trained outside fold f."""
    z = state["z"]
    rest = [g for g in range(FOLDS) if g != f]
    cnt = sum(state["count"][g] for g in rest)
    y_sum = sum(state["ysum"][g] for g in rest)
    keep = _fold_keep(state, f)
    mu = sum(state["zsum"][g] for g in rest) / cnt
    # centred: Zc^T Zc = Z^T Z - cnt mu mu^T; Zc^T Y = Z^T Y - mu (1^T Y). Centring Y is
    # not needed: the columns of Zc sum to zero.
    a = sum(state["gram"][g] for g in rest) - cnt * np.outer(mu, mu)
    b = sum(state["yz"][g] for g in rest)[:, keep] - np.outer(mu, y_sum[keep])
    w = np.linalg.solve(a + RIDGE_LAMBDA * np.eye(z.shape[1]), b)
    factor = _gram_factor(w, PROFILE_RANK).astype(np.float32)
    return normalize_rows(z @ factor - (mu.astype(np.float32) @ factor)[None, :])


