"""Related posts: the top-k most similar other posts, self excluded, ties broken by index.

Methods (`METHODS`): the peers and the study's recipe as named options, and the default
"blogrec", which fuses three signals, each z-scored per query over all other posts:

    fused(i, j) = z_profile(i, j) + z_pairs(i, j) + 0.5 * z_use(i, j)

* pairs: cosine of the TF-IDF of the words and adjacent word pairs of the cleaned full
  text (`text.matrices.pair_tfidf`: language-aware tokens, sublinear tf, squared idf).
  A shared phrase, a tool's or a project's name, is what the author's own links follow.
* use: cosine of USE multilingual embeddings of title + lede + headings (the study's text).
* profile: cosine of cross-fitted *predicted tag profiles*. Posts are split into K=5
  folds (`folds.fold_labels`: a seeded permutation, the scheme the tag signals use too).
  For the posts of fold f, a ridge regression (lambda=1) trained
  only on the tagged posts of the other folds maps TEXT features ([USE | LSI-200]) to tag
  indicators; that one model f scores the query post and every candidate, and posts are
  compared by the cosine of the predicted profiles. So the tags of the post being ranked
  never influence its ranking (model f never saw them) - exactly the situation of a new,
  untagged post. Candidates' tags do enter, through model f's training (their profiles
  are in-sample predictions): the blog's tag history is used, the query's tags are not.
  With fewer than 20 tagged posts or fewer than 2 tags used twice, the profile term is
  dropped and the default is the content fusion z_pairs + 0.5 z_use.

Measured with every link between posts hidden from the texts (`blogrec evaluate`), tag
Dice / link hit@4, and the ratio to the best peer on each (tfidf, tfidf-chars, bm25,
lsi): ja-efcl 0.400 / 0.815 (1.030x lsi / 1.034x tfidf-chars), en-18f 0.459 / 0.741
(1.091x lsi / 1.092x lsi); with folds by index mod 5, ja-efcl 0.400 / 0.826 (the
measure's noise: 4 of 373 posts). The fusion it replaces, z_profile + 0.25 z_lsi + 0.25 z_use,
scored 0.439 / 0.668 and 0.474 / 0.640: more tag Dice, fewer of the author's links.
Adding 0.25 z_lsi to the three terms changed nothing beyond noise; with plain idf the
pairs reached at most 1.02x on both measures at once on ja-efcl. The weights were
chosen on both corpora at once, as round numbers on a plateau: with z_pairs 0.75-1.25
and z_use 0.25-0.75 the lowest of the four ratios stayed between 1.01 and 1.04.

Scalability: the fused ranking is computed on candidates only, never on an n x n matrix:
the union of each signal's top-M (M=100; faiss inner product, exact, for the dense
signals; chunked sparse products for the pairs). The z-scores use each query's exact
mean and standard deviation over all other posts (from first and second moments of the
dense vectors; the pairs' from the chunked products), so for n <= M + 1 the result is
exactly the dense computation; for larger n a post outside every candidate list can
never be returned (a documented approximation).

Large blogs: where the search is approximate (from 50k posts, see `ann`), the candidates
are instead the top-100 of one search in the joint [LSI | USE] space
(`Features.neighbours`, shared with the tag model's kNN pool; its index scans fewer
cells, see `candidate_params`): one search instead of three (USE, LSI, the tag pool). On
a synthetic 100k-post blog its top-4 held 100% of the exact fused top-4 of 400 sampled
posts; the per-signal lists of 50 held 98.9% (benchmarks/README.md). There the pair
signal is left out and the fusion is z_profile + 0.25 z_lsi + 0.25 z_use (the default
before the pair signal): the pair TF-IDF's exact row statistics and candidate cosines
take sparse products over all pairs of posts, whose cost grows with the square of the
blog. On scale.py's synthetic 10k-post blog they took about 9 s of the 17 s related
step; extrapolated, a few minutes just below 50k posts (not measured).
The returned score of the default is the fused value above (finite, higher = closer).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Hashable, Sequence
from functools import partial
from typing import Any

import numpy as np
from scipy import sparse

from .ann import candidate_params, choose_mode, search
from .corpus import dice, tag_sets
from .embeddings.encoders import DEFAULT_FIELDS, TFHubEncoder
from .features import Features
from .folds import FOLDS, fold_labels
from .methods import (  # noqa: F401  (related's names)
    DEFAULT_K,
    DEFAULT_METHOD,
    METHODS,
    RECIPE_FIELDS,
)
from .taxonomy import dice_matrix, tag_matrix
from .text.matrices import sparse_top_m
from .vectors import normalize_rows
from .work import Piece, Runner, in_order

log = logging.getLogger(__name__)

# Default's fixed configuration (the same for every blog).
RIDGE_LAMBDA = 1.0
PAIR_WEIGHT = 1.0  # weight of z_pairs next to z_profile
USE_WEIGHT = 0.5  # weight of z_use next to z_profile
LARGE_CONTENT_WEIGHT = 0.25  # large blogs (no pair signal): each of z_lsi and z_use
CANDIDATES = 100  # top-M per signal
MIN_TAGGED_POSTS = 20
MIN_TAG_POSTS = 2  # a tag is learnt when at least this many training posts carry it
MOMENT_BLOCK = 8192  # rows per float32 product in _dense_moments
PROFILE_RANK = 512  # most columns a stored tag profile has (see tag_profile_models)


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


# ---------------------------------------------------------------- candidates


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


# ---------------------------------------------------------------- tag profiles


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


# ---------------------------------------------------------------- the default


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
            self.state_ = None
            self.folds_: list[int | None] = []
            return self
        self.large_ = choose_mode(n, self.index) == "approx"
        self.with_pairs_ = self.pairs and not self.large_
        self.m_ = m = min(self.candidates, n - 1)
        allq = np.arange(n)
        self.u_ = u = features.use(RECIPE_FIELDS)
        self.lsi_ = lsi = features.lsi
        self.state_ = _profile_setup(features) if self.use_tags else None
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
        self.folds_ = list(range(FOLDS)) if self.state_ is not None else [None]
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
        p = None if f is None else _fold_profiles(self.state_, f)  # type: ignore[arg-type]
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


# ---------------------------------------------------------------- all methods


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


def related_for(
    method: str, features: Features, k: int = DEFAULT_K,
    groups: Sequence[Hashable] | None = None, **options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Related posts by `method`: (indices (n, k) int64, -1 = none; scores (n, k) float32).

    groups: one label per post (the build passes each post's language). With more than
    one distinct label, each group is ranked on its own, as if it were the whole blog
    (`Features.subset`: its own TF-IDF, LSI, tag profiles...), so a post's related
    posts are posts of its group; a post alone in its group has none. Whatever the
    groups, posts that share a `translation_key` (versions of one post) are never each
    other's related posts: the list is filled from further down instead.

    Options: `tfhub_handle` (use-large: a TF Hub URL or SavedModel dir of USE
    multilingual-large), `seed` (random), `candidates`, `use_tags`, `tag_weight` and
    `pairs` (blogrec, see `BlogrecRelated`), `index` ("auto", "exact" or "approx"
    nearest-neighbour search), `run` (blogrec: the runner of its folds, see `work`),
    `fields` (method "use", the build's `--method use`: USE of those fields).
    """
    labels = list(groups) if groups is not None else [None] * len(features.posts)
    if len(labels) != len(features.posts):
        raise ValueError(f"need one group per post (got {len(labels)} for "
                         f"{len(features.posts)} posts)")
    # ask for as many more as a post can have translations among its candidates
    extra = _most_translations(features.posts, labels)
    if len(set(labels)) > 1:
        idx, scores = _rank_by_group(method, features, k + extra, labels, options)
    else:
        idx, scores = _rank(method, features, k + extra, **options)
    if extra:
        idx, scores = _without_translations(features.posts, idx, scores, k)
    return idx, scores


def _most_translations(posts: Sequence[Any], labels: Sequence[Hashable]) -> int:
    """The most other versions (same translation key) any post has in its group."""
    sizes = Counter((g, p.translation_key) for g, p in zip(labels, posts, strict=True)
                    if p.translation_key is not None)
    return max(sizes.values(), default=1) - 1


def _rank_by_group(method: str, features: Features, k: int, labels: Sequence[Hashable],
                   options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """`_rank` of each group's `Features.subset`, its indices mapped back to the blog's."""
    n = len(features.posts)
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_score = np.zeros((n, k), dtype=np.float32)
    for label in dict.fromkeys(labels):
        rows = np.flatnonzero([g == label for g in labels])
        if len(rows) < 2:  # alone in its language: nothing to rank
            continue
        idx, scores = _rank(method, features.subset(rows), k, **options)
        out_idx[rows] = np.where(idx >= 0, rows[np.maximum(idx, 0)], -1)
        out_score[rows] = scores
    return out_idx, out_score


def _without_translations(posts: Sequence[Any], idx: np.ndarray, scores: np.ndarray,
                          k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k of each row that are not a version of the row's post (same
    translation key), in their order; -1 / 0 when fewer remain."""
    codes: dict[str, int] = {}
    code = np.array([-1 if p.translation_key is None
                     else codes.setdefault(p.translation_key, len(codes)) for p in posts],
                    dtype=np.int64)
    mine = code[:, None]
    keep = (idx >= 0) & ~((mine >= 0) & (code[np.maximum(idx, 0)] == mine))
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    kept = np.take_along_axis(keep, order, axis=1)
    return (np.where(kept, np.take_along_axis(idx, order, axis=1), -1),
            np.where(kept, np.take_along_axis(scores, order, axis=1), 0.0).astype(np.float32))


def _rank(method: str, features: Features, k: int, **options: Any
          ) -> tuple[np.ndarray, np.ndarray]:
    """Every post's top-k by `method`, over all of `features`' posts."""
    if options.get("tag_weight") and method != "blogrec":
        raise ValueError("tag_weight is only available with the blogrec method")
    n = len(features.posts)
    index = options.get("index", "auto")
    if method == "random":
        return _random_related(n, k, options.get("seed", 0))
    if method == "tfidf":
        return _sparse_related(features.tfidf, k)
    if method == "tfidf-chars":
        return _sparse_related(features.char_tfidf, k)
    if method == "bm25":
        queries, documents = features.bm25
        return _sparse_related(queries, k, y=documents)
    if method == "tag-overlap":
        return _tag_overlap(features, k)
    if method == "lsi":
        return top_k_from_vectors(features.lsi, k, index)
    fields = {
        "use-title": ("title",),
        "use-title-lede": ("title", "lede"),
        "use-recipe": RECIPE_FIELDS,
        "use-fulltext": ("body",),
    }
    if method in fields:
        return top_k_from_vectors(features.use(fields[method]), k, index)
    if method == "use":
        return top_k_from_vectors(features.use(options.get("fields", DEFAULT_FIELDS)), k, index)
    if method == "use-passages":
        return top_k_from_vectors(features.use_passages(), k, index)
    if method == "use-large":
        handle = options.get("tfhub_handle")
        if not handle:
            raise ValueError("use-large needs a TF Hub handle (tfhub_handle=...); skipped")

        cache_dir = str(features.cache.directory) if features.cache is not None else None
        large = Features(features.posts, TFHubEncoder(handle), cache_dir)
        return top_k_from_vectors(large.use(RECIPE_FIELDS), k, index)
    if method == "blogrec":
        return blogrec_related(
            features,
            k,
            candidates=options.get("candidates", CANDIDATES),
            use_tags=options.get("use_tags", True),
            tag_weight=options.get("tag_weight", 0.0),
            index=index,
            run=options.get("run", in_order),
            pairs=options.get("pairs", True),
        )
    raise ValueError(f"unknown related method {method!r}; choose from {', '.join(METHODS)}")
