"""The default ranking, `BlogrecRelated`: the fused, z-scored signals on the candidates."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
from scipy import sparse

from ..ann import choose_mode
from ..corpus import tag_sets
from ..features import Features
from ..folds import FOLDS, fold_labels
from ..methods import (
    DEFAULT_K,
    RECIPE_FIELDS,
)
from ..taxonomy import dice
from ..text.matrices import sparse_top_m
from ..work import Piece, Runner, in_order
from .candidates import _dense_moments, _dense_top_m, _pair_dots, _sparse_pair_dots, _z
from .profile import TagProfiles

# Default's fixed configuration (the same for every blog).


PAIR_WEIGHT = 1.0  # weight of z_pairs next to z_profile
USE_WEIGHT = 0.5  # weight of z_use next to z_profile
LARGE_CONTENT_WEIGHT = 0.25  # large blogs (no pair signal): each of z_lsi and z_use
CANDIDATES = 100  # top-M per signal


class BlogrecRelated:
    """The default ranking (see the module docstring), as an estimator.

    `fit(features)` computes what every post's ranking shares: the candidate lists, each
    content signal's exact row statistics and the profile models' sums. The posts are
    then ranked one fold at a time (`pieces`: each fold's posts are ranked with that
    fold's profiles, so only one (n, rank) profile matrix is in memory per piece); the
    pieces are independent, so a runner may run them in any order or on any thread.

    index: exact or approximate candidate search (see `ann.search`). pairs=False
    leaves the pair signal out and fuses z_profile + 0.25 z_lsi + 0.25 z_use, as large
    blogs always do (so the large-blog path can be checked against the exact one).
    tag_weight > 0 adds tag_weight * Dice(tags of i, tags of j) to the fused score of
    each candidate (Hugo-style "shared tags are related"), for production output only:
    scoring that ranking with tag Dice would be circular.
    """

    def __init__(self, k: int = DEFAULT_K, candidates: int = CANDIDATES,
                 use_tags: bool = True, tag_weight: float = 0.0, index: str = "auto",
                 pairs: bool = True) -> None:
        self.k = k
        self.candidates = candidates
        self.use_tags = use_tags
        self.tag_weight = tag_weight
        self.index = index
        self.pairs = pairs

    def fit(self, features: Features) -> BlogrecRelated:
        n = len(features.posts)
        self.features_ = features
        self.n_ = n
        if n < 2:
            self.profiles_: TagProfiles | None = None
            self.folds_: list[int | None] = []
            return self
        self.large_ = choose_mode(n, self.index) == "approx"
        self.with_pairs_ = self.pairs and not self.large_
        self.m_ = m = min(self.candidates, n - 1)
        allq = np.arange(n)
        self.u_ = u = features.use(RECIPE_FIELDS)
        self.lsi_ = lsi = features.lsi
        profiles = TagProfiles().fit(features) if self.use_tags else None
        self.profiles_ = profiles if profiles is not None and profiles.learnt_ else None
        # Blog-wide: the candidate lists and each content signal's exact row statistics.
        if self.large_:
            # One approximate search in the joint [LSI | USE] space instead of one per
            # signal (and per fold for the profiles): at 100k posts each search costs
            # about a minute, and the tag model reuses this one for its kNN pool.
            self.joint_idx_, self.joint_sim_ = features.neighbours(m, self.index)
        else:
            self.u_idx_ = _dense_top_m(u, m, mode=self.index)[0]
        if self.with_pairs_:
            self.pairs_ = features.pair_tfidf
            self.x_idx_, _, self.x_mean_, self.x_std_, _ = sparse_top_m(self.pairs_, m)
            self.pairs_t_ = sparse.csr_matrix(self.pairs_.T)
        else:
            if not self.large_:
                self.t_idx_ = _dense_top_m(lsi, m, mode=self.index)[0]
            self.t_mean_, self.t_std_ = _dense_moments(lsi, allq)
        self.u_mean_, self.u_std_ = _dense_moments(u, allq)
        self.fold_ = fold_labels(n, FOLDS)
        self.folds_ = list(range(FOLDS)) if self.profiles_ is not None else [None]
        return self

    def pieces(self) -> list[Piece[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        """One piece per fold (one for all posts without profiles): each returns
        (rows, their top-k indices, their fused scores)."""
        return [partial(self.rank_fold, f) for f in self.folds_]

    def rank_fold(self, f: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The top-k of the posts of fold f (None: every post)."""
        n, m, k, index = self.n_, self.m_, self.k, self.index
        lsi, u = self.lsi_, self.u_
        allq = np.arange(n)
        q = allq if f is None else allq[self.fold_ == f]
        if not len(q):
            return q, np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
        p = None if f is None or self.profiles_ is None else self.profiles_.fold_profiles(f)
        if self.large_:
            table = self.joint_idx_[q]  # each post once
            t_val = _pair_dots(lsi, q, table)
            # the joint inner product is the mean of the two cosines: the USE cosine
            # follows without gathering 512 floats per candidate
            u_val = 2.0 * self.joint_sim_[q] - t_val
        else:
            cand = [self.u_idx_[q], (self.x_idx_ if self.with_pairs_ else self.t_idx_)[q]]
            if p is not None:
                cand.append(_dense_top_m(p, m, q, mode=index)[0])
            # the candidate union, each post once (sorted; repeats become -1)
            table = np.concatenate(cand, axis=1)
            table = np.sort(np.where(table >= 0, table, n), axis=1)
            dup = np.zeros_like(table, dtype=bool)
            dup[:, 1:] = table[:, 1:] == table[:, :-1]
            table[dup | (table == n)] = -1
            u_val = _pair_dots(u, q, table)
            t_val = None if self.with_pairs_ else _pair_dots(lsi, q, table)
        # each signal's similarity on the union, z-scored with exact row statistics
        fused = (USE_WEIGHT if self.with_pairs_ else LARGE_CONTENT_WEIGHT) \
            * _z(u_val, self.u_mean_[q], self.u_std_[q])
        if self.with_pairs_:
            x_val = _sparse_pair_dots(self.pairs_, self.pairs_t_, q, table)
            fused = fused + PAIR_WEIGHT * _z(x_val, self.x_mean_[q], self.x_std_[q])
        else:
            fused = fused + LARGE_CONTENT_WEIGHT * _z(t_val, self.t_mean_[q], self.t_std_[q])
        if p is not None:
            p_mean, p_std = _dense_moments(p, q)
            fused = fused + _z(_pair_dots(p, q, table), p_mean, p_std)
        if self.tag_weight:
            fused = fused + self.tag_weight * _tag_dice(self.features_, table, q)
        fused = np.where(table >= 0, fused, -np.inf)
        # top-k of the fused score; ties by the smaller index
        key = np.where(np.isfinite(fused), -np.round(fused, 6), np.inf)
        order = np.lexsort((np.where(table >= 0, table, n), key), axis=1)[:, :k]
        top = np.take_along_axis(table, order, axis=1)
        val = np.take_along_axis(fused, order, axis=1)
        ok = (top >= 0) & np.isfinite(val)
        return q, np.where(ok, top, -1), np.where(ok, val, 0.0).astype(np.float32)

    def combine(self, parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]
                ) -> tuple[np.ndarray, np.ndarray]:
        """(indices (n, k), -1 = none; scores (n, k)) from the pieces' results."""
        out_idx = np.full((self.n_, self.k), -1, dtype=np.int64)
        out_score = np.zeros((self.n_, self.k), dtype=np.float32)
        for q, top, val in parts:
            out_idx[q, : top.shape[1]] = top
            out_score[q, : top.shape[1]] = val
        return out_idx, out_score

    def rank(self, run: Runner = in_order) -> tuple[np.ndarray, np.ndarray]:
        """Every post's top-k, its pieces run by `run`."""
        return self.combine(run(self.pieces()))


def blogrec_related(
    features: Features, k: int = DEFAULT_K, candidates: int = CANDIDATES, use_tags: bool = True,
    tag_weight: float = 0.0, index: str = "auto", run: Runner = in_order, pairs: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """`BlogrecRelated` fitted on `features`, then ranked (its pieces run by `run`)."""
    model = BlogrecRelated(k, candidates, use_tags, tag_weight, index, pairs).fit(features)
    return model.rank(run)


def _tag_dice(features: Features, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Dice of the tag sets of post rows[r] and each of its candidates table[r] (0 for
    empty slots)."""
    tags = tag_sets(features.posts)
    out = np.zeros(table.shape, dtype=np.float64)
    for r, row in enumerate(table):
        i = int(rows[r])
        if tags[i]:
            out[r] = [dice(tags[i], tags[j]) if j >= 0 else 0.0 for j in row]
    return out


