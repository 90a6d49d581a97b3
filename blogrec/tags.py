"""Tag suggestions for new posts, their evaluation, and tag clean-up data.

Methods (`TAG_METHODS`), all with the interface `fit(features, train_indices)` then
`scores(features, indices=None, posts=None)` / `suggest(...)`:

- ``popularity``: the training tags by frequency, whatever the text.
- ``tag-name``: cosine of the post's USE embedding with the embedding of the tag's name
  (the reference study's comparison).
- ``mean-vector``: the reference study's method: a tag's vector is the mean of the
  L2-normalised USE embeddings of the training posts that carry it (title + lede +
  headings); tags are ranked by cosine to the post.
- ``knn``: the tags of the 20 nearest training posts (USE cosine), each vote weighted
  by its similarity and divided by the sum of the similarities.
- ``tfidf-lr``: TF-IDF (fitted on the training posts only) and one logistic regression
  per tag (one-vs-rest, scikit-learn, liblinear).
- ``blogrec`` (the default): see `BlogrecTags`. Stacking of six signals, the fusion
  weights learnt on the blog's own training posts by cross-fitting, so no number is
  chosen per blog.

"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from .ann import search
from .corpus import TAG_FIELDS, Post, PostError, decode, extract_headings, parse_post, tag_key
from .embeddings.encoders import DEFAULT_FIELDS, document_text
from .features import joint_vectors
from .parallel import share
from .text.clean import lexical_text
from .text.matrices import TfidfModel, counts_in_vocab
from .text.tokens import tokenize
from .vectors import normalize_rows

log = logging.getLogger(__name__)

TAG_METHODS = ("popularity", "tag-name", "mean-vector", "knn", "tfidf-lr", "blogrec")
DEFAULT_TAG_METHOD = "blogrec"
KNN_K = 20
# The default's post embedding: title + lede + headings, the text the build embeds anyway.
# Adding the first 4,000 body characters scored the same MAP@5 (ja-efcl 0.508 vs 0.508,
# en-18f 0.350 vs 0.350) and made a cold build encode ~10x more tokens.
BLOGREC_FIELDS = ("title", "lede", "headings")
CROSS_FOLDS = 5
MIN_STACK_POSTS = 20
# The default's kNN votes among each post's KNN_POOL nearest posts of the whole blog; its
# fusion learns from <= FUSION_PAIRS out-of-fold (post, tag) pairs.
KNN_POOL = 2 * KNN_K
FUSION_PAIRS = 1_000_000
MIN_FUSION_POSTS = 200
SCORE_CHUNK = 1000

# ================================================================ inputs


post_text = lexical_text  # the lexical text of a post, as `Features.clean_texts`


class _Batch:
    """Posts to score: rows `indices` of a `Features`, or new posts (drafts)."""

    def __init__(self, features: Any, indices: Sequence[int] | None = None,
                 posts: Sequence[Post] | None = None) -> None:
        if (indices is None) == (posts is None):
            raise ValueError("give exactly one of indices or posts")
        self.features = features
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)
        self.posts = (
            [features.posts[i] for i in self.indices] if self.indices is not None
            else list(posts or [])
        )

    def __len__(self) -> int:
        return len(self.posts)

    def use(self, fields: Sequence[str]) -> np.ndarray:
        if self.indices is not None:
            return np.asarray(self.features.use(tuple(fields)))[self.indices]
        texts = [document_text(p, fields) for p in self.posts]
        return self.features.embed(texts, label="tags:" + "+".join(fields))

    def sub(self, rows: Any) -> _Batch:
        """The batch's rows `rows` (a slice or positions) as a batch."""
        if self.indices is not None:
            return _Batch(self.features, indices=self.indices[rows])
        picked = self.posts[rows] if isinstance(rows, slice) else [self.posts[r] for r in rows]
        return _Batch(self.features, posts=picked)

    def joint(self) -> np.ndarray:
        """[LSI | USE] / sqrt(2): unit rows whose inner product is the mean of the LSI and
        the USE cosines (large blogs' stand-in for TF-IDF + USE)."""
        if self.indices is not None:
            return self.features.joint[self.indices]
        lsi = self.features.lsi_of([post_text(p) for p in self.posts])
        return joint_vectors(lsi, self.use(BLOGREC_FIELDS))

    @property
    def counts(self) -> sparse.csr_matrix:
        """Term counts over the blog's vocabulary (`Features.counts`); a draft's words
        that no post uses are dropped, as no model could have learnt them."""
        matrix, vocab = self.features.counts
        if self.indices is not None:
            return matrix[self.indices]
        return counts_in_vocab([tokenize(post_text(p)) for p in self.posts], vocab)


class _Tfidf:
    """TF-IDF fitted on the training posts only (sublinear tf, max_df 0.5, L2 rows)."""

    def fit(self, counts: sparse.csr_matrix) -> _Tfidf:
        self.model = TfidfModel().fit(counts)
        self.ok = self.model.ok
        return self

    def transform(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        if not self.ok:
            return sparse.csr_matrix((counts.shape[0], 1), dtype=np.float32)
        return self.model.transform(counts)


# ================================================================ vocabulary


@dataclass
class TagVocabulary:
    """The training tags: matching keys, display spellings, post counts."""

    keys: list[str]
    display: list[str]
    counts: np.ndarray
    n_posts: int

    @classmethod
    def from_posts(cls, posts: Sequence[Post]) -> TagVocabulary:
        counts: Counter[str] = Counter()
        display: dict[str, str] = {}
        for p in posts:
            for t in dict.fromkeys(tag_key(t) for t in p.tags):
                counts[t] += 1
        for p in posts:
            for t in p.tags:
                display.setdefault(tag_key(t), t)
        keys = sorted(counts, key=lambda k: (-counts[k], k))
        return cls(keys, [display[k] for k in keys],
                   np.array([counts[k] for k in keys], dtype=np.float64), len(posts))

    @property
    def index(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.keys)}

    def matrix(self, posts: Sequence[Post]) -> sparse.csr_matrix:
        """(len(posts), n_tags) 0/1 matrix; tags outside the vocabulary are dropped."""
        idx = self.index
        rows, cols = [], []
        for i, p in enumerate(posts):
            for c in {idx[k] for k in (tag_key(t) for t in p.tags) if k in idx}:
                rows.append(i)
                cols.append(c)
        return sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(posts), len(self.keys)),
        )


# ================================================================ lexical match


def _canon(text: str) -> str:
    """NFKC, casefolded, every run of non-word characters one space, padded by spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " " + " ".join(re.findall(r"\w+", text)) + " "


def tag_patterns(key: str) -> tuple[str, ...]:
    """Substrings of `_canon(text)` that mean the tag's name occurs in the text.

    `Node.js` occurs as "node.js", "node js" or "nodejs"; word tags must match whole
    words; a tag written in CJK script matches anywhere (no spaces between words).
    """
    words = re.findall(r"\w+", key)
    if not words:
        return ()
    if any(re.search(r"[^\x00-\x7f]", w) for w in words):
        return (" ".join(words), "".join(words)) if len(words) > 1 else (words[0],)
    variants = {" " + " ".join(words) + " ", " " + "".join(words) + " "}
    return tuple(sorted(variants))


def lexical_matches(texts: Sequence[str], keys: Sequence[str]) -> np.ndarray:
    """(len(texts), len(keys)) bool: does the tag's name occur in the text (as
    `tag_patterns` defines it)."""
    out = np.zeros((len(texts), len(keys)), dtype=bool)
    rows, cols = _match_pairs([_canon(t) for t in texts], keys)
    out[rows, cols] = True
    return out


def _match_pairs(canon: Sequence[str], keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(text rows, key columns) of every match of a key's name in a `_canon` text."""
    # Word tags: a pattern " a b " or " ab " occurs in the padded canonical text exactly
    # when the words a, b are consecutive words of it, or "ab" is one of its words; so
    # look the text's word n-grams up in a table instead of testing every tag.
    phrases: dict[tuple[str, ...], list[int]] = {}
    substrings: list[tuple[int, tuple[str, ...]]] = []
    for j, key in enumerate(keys):
        pats = tag_patterns(key)
        if not pats:
            continue
        if pats[0].startswith(" "):
            for p in pats:
                phrases.setdefault(tuple(p.split()), []).append(j)
        else:
            substrings.append((j, pats))
    first = {p[0] for p in phrases}
    longest = max((len(p) for p in phrases), default=0)
    rows: list[int] = []
    cols: list[int] = []
    for i, text in enumerate(canon):
        hits: set[int] = set()
        words = text.split()
        for a, w in enumerate(words):
            if w not in first:
                continue
            for n in range(1, min(longest, len(words) - a) + 1):
                hit = phrases.get(tuple(words[a : a + n]))
                if hit:
                    hits.update(hit)
        for j, pats in substrings:  # CJK names: anywhere, no word boundaries
            if any(p in text for p in pats):
                hits.add(j)
        rows.extend([i] * len(hits))
        cols.extend(sorted(hits))
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


# One matching at a time (per process): a second thread asking for the same matches
# waits for them instead of computing them again.
_MATCHING = threading.Lock()


def _blog_matches(features: Any, field: str, keys: Sequence[str]) -> sparse.csr_matrix:
    """`lexical_matches` of every post's title or text ("title", "text") with `keys`, as a
    sparse (n_posts, len(keys)) matrix, remembered per tag on the feature store: the
    build fits the tag model on all posts, on the evaluation's training split and on
    their folds, with mostly the same tags. Thread-safe: the build may compute them ahead
    on its second thread (`prepare_name_matches`); whichever thread comes second waits
    for the first instead of matching again."""
    with _MATCHING:
        memo: dict[str, np.ndarray] = features._memo.setdefault(
            ("tag-name-matches", field), {})
        todo = [k for k in dict.fromkeys(keys) if k not in memo]
        if todo:
            canon = features._memo.get(("canon", field))
            if canon is None:
                texts = ([p.title for p in features.posts] if field == "title"
                         else features.clean_texts)
                canon = features._memo[("canon", field)] = [_canon(t) for t in texts]
            rows, cols = _match_pairs(canon, todo)
            order = np.lexsort((rows, cols))
            rows, cols = rows[order], cols[order]
            bounds = np.searchsorted(cols, np.arange(len(todo) + 1))
            for c, key in enumerate(todo):
                memo[key] = rows[bounds[c] : bounds[c + 1]]
    rows = [memo[k] for k in keys]
    cols = np.repeat(np.arange(len(keys)), [len(r) for r in rows])
    data = np.ones(len(cols), dtype=bool)
    flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return sparse.csr_matrix((data, (flat, cols)), shape=(len(features.posts), len(keys)))


def prepare_name_matches(features: Any) -> None:
    """Match every blog tag's name in every post's title and text now, remembered for the
    tag model's fit (`_blog_matches`).

    The matching is pure Python (it holds the GIL: ~15 s at 100k posts), so the fit,
    which otherwise runs on one core, is the wrong place for it: the build runs this on
    its second thread while related posts' numpy and faiss work fills the first."""
    keys = TagVocabulary.from_posts(features.posts).keys
    for field in ("title", "text"):
        _blog_matches(features, field, keys)


class _LexicalRates:
    """P(tag | its name occurs in the title) and (| occurs in the body), per tag.

    Estimated on the training posts and shrunk towards the pooled rate of all tags with
    weight `SHRINK` pseudo-posts, so a tag never (or rarely) matched in training gets the
    blog-wide rate: a rare tag whose name is in a new post's title is still suggested.
    """

    SHRINK = 2.0

    def fit(self, y: sparse.csr_matrix, title: Any, body: Any) -> _LexicalRates:
        """title, body: (n_train, n_tags) bool matches, dense or sparse."""
        yb = sparse.csr_matrix(y > 0, dtype=np.float64)
        self.rates = []
        for m in (title, body):
            m = sparse.csr_matrix(m, dtype=np.float64)
            n = np.asarray(m.sum(axis=0)).ravel()
            pos = np.asarray(m.multiply(yb).sum(axis=0)).ravel()
            pooled = (pos.sum() + 1.0) / (n.sum() + 2.0)
            self.rates.append((pos + self.SHRINK * pooled) / (n + self.SHRINK))
        return self

    def transform(self, title: np.ndarray, body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return title * self.rates[0][None, :], body * self.rates[1][None, :]


# ================================================================ methods


class TagMethod:
    """Common interface: fit on training posts, score tags for posts or drafts."""

    name = "base"

    def fit(self, features: Any, train_indices: Sequence[int] | None = None,
            vocab: TagVocabulary | None = None) -> TagMethod:
        """Learn from `features.posts[train_indices]` (default: every post).

        vocab: the tag columns to score (default: the tags of the training posts).
        """
        if train_indices is None:
            train_indices = range(len(features.posts))
        self.train_ = _Batch(features, indices=list(train_indices))
        self.vocab_ = vocab or TagVocabulary.from_posts(self.train_.posts)
        self.y_ = self.vocab_.matrix(self.train_.posts)
        self._fit(self.train_)
        return self

    def _fit(self, train: _Batch) -> None:
        pass

    def _scores(self, batch: _Batch) -> np.ndarray:
        raise NotImplementedError

    def scores(self, features: Any, indices: Sequence[int] | None = None,
               posts: Sequence[Post] | None = None) -> np.ndarray:
        """(n_posts, n_tags) scores, higher = more likely; columns follow `vocab_.keys`."""
        return self._scores(_Batch(features, indices=indices, posts=posts))

    def suggest(self, features: Any, indices: Sequence[int] | None = None,
                posts: Sequence[Post] | None = None, k: int = 5
                ) -> list[list[tuple[str, float]]]:
        """Top-k (display tag, score) per post."""
        return rank_tags(self.scores(features, indices, posts), self.vocab_, k)


def rank_tags(scores: np.ndarray, vocab: TagVocabulary, k: int | None
              ) -> list[list[tuple[str, float]]]:
    """Top-k (display, score) of each row; ties: the more frequent tag, then key order."""
    out = []
    for row in np.asarray(scores, dtype=np.float64):
        order = np.lexsort((np.arange(len(row)), -vocab.counts, -np.round(row, 9)))
        out.append([(vocab.display[j], float(row[j])) for j in order[: k or len(row)]])
    return out


class PopularityTags(TagMethod):
    name = "popularity"

    def _scores(self, batch: _Batch) -> np.ndarray:
        p = self.vocab_.counts / max(self.vocab_.n_posts, 1)
        return np.tile(p, (len(batch), 1))


class TagNameTags(TagMethod):
    """Cosine of the post embedding with the embedding of the tag's own name."""

    name = "tag-name"
    fields = DEFAULT_FIELDS

    def _fit(self, train: _Batch) -> None:
        self.vectors_ = train.features.embed(self.vocab_.display, label="tag-names")

    def _scores(self, batch: _Batch) -> np.ndarray:
        return batch.use(self.fields) @ self.vectors_.T


def _mean_vectors(y: sparse.csr_matrix, u: np.ndarray) -> np.ndarray:
    return normalize_rows(np.asarray(y.T @ u))


class MeanVectorTags(TagMethod):
    """The study: tag vector = mean of its training posts' normalised embeddings."""

    name = "mean-vector"
    fields = DEFAULT_FIELDS

    def _fit(self, train: _Batch) -> None:
        self.vectors_ = _mean_vectors(self.y_, train.use(self.fields))

    def _scores(self, batch: _Batch) -> np.ndarray:
        return batch.use(self.fields) @ self.vectors_.T


def knn_vote(sim: np.ndarray, y: sparse.csr_matrix, k: int = KNN_K) -> np.ndarray:
    """Similarity-weighted tag vote of the k most similar training posts, in [0, 1]."""
    sim = np.maximum(np.asarray(sim, dtype=np.float64), 0.0)
    n_train = sim.shape[1]
    if n_train == 0:
        return np.zeros((sim.shape[0], y.shape[1]))
    kk = min(k, n_train)
    top = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
    w = np.zeros_like(sim)
    np.put_along_axis(w, top, np.take_along_axis(sim, top, axis=1), axis=1)
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return np.asarray((y.T.astype(np.float64) @ w.T).T)


class KnnTags(TagMethod):
    name = "knn"
    fields = DEFAULT_FIELDS
    k = KNN_K

    def _fit(self, train: _Batch) -> None:
        self.u_ = train.use(self.fields)

    def _scores(self, batch: _Batch) -> np.ndarray:
        return knn_vote(batch.use(self.fields) @ self.u_.T, self.y_, self.k)


class _LinearOvR:
    """One L2-regularised logistic regression per tag (one-vs-rest), all solved at once.

    Same objective as scikit-learn's `LogisticRegression(C=c)` (lbfgs, unpenalised
    intercept) for each tag column. When there are fewer posts than feature columns the
    problem is solved exactly in the n-dimensional span of the training rows (the
    representer theorem: w = X^T a), via the eigendecomposition of X X^T, so a TF-IDF
    with tens of thousands of columns costs no more than the number of posts.
    """

    def __init__(self, c: float = 10.0, max_iter: int = 200) -> None:
        self.c = c
        self.max_iter = max_iter

    def _project(self, x: Any) -> np.ndarray:
        if self.basis_ is None:
            return np.asarray(x.todense() if sparse.issparse(x) else x, dtype=np.float64)
        return np.asarray(x @ self.basis_, dtype=np.float64)

    def fit(self, x: Any, y: sparse.csr_matrix) -> _LinearOvR:
        n, dim = x.shape
        self.basis_ = None
        if dim > n:
            gram = np.asarray((x @ x.T).todense() if sparse.issparse(x) else x @ x.T,
                              dtype=np.float64)
            vals, vecs = np.linalg.eigh(gram)
            keep = vals > 1e-9 * max(vals.max(), 1e-30)
            # Orthonormal basis of the row space, as a (dim, r) map: x -> x X^T U S^-1.
            xt = x.T.tocsr() if sparse.issparse(x) else x.T
            self.basis_ = np.asarray(xt @ (vecs[:, keep] / np.sqrt(vals[keep])[None, :]))
        z = self._project(x)
        yd = (y.toarray() > 0).astype(np.float64)
        t = yd.shape[1]
        r = z.shape[1]
        pos = yd.mean(axis=0)
        b0 = np.log(np.clip(pos, 1e-6, 1 - 1e-6) / np.clip(1 - pos, 1e-6, 1))

        def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w = theta[: r * t].reshape(r, t)
            b = theta[r * t:]
            s = z @ w + b[None, :]
            loss = self.c * float(np.sum(np.logaddexp(0.0, s) - yd * s)) + 0.5 * float(
                np.sum(w * w))
            g = self.c * (_sigmoid(s) - yd)
            return loss, np.concatenate([(z.T @ g + w).ravel(), g.sum(axis=0)])

        theta0 = np.concatenate([np.zeros(r * t), b0])
        res = minimize(f, theta0, jac=True, method="L-BFGS-B",
                       options={"maxiter": self.max_iter, "gtol": 1e-6})
        self.w_ = res.x[: r * t].reshape(r, t)
        self.b_ = res.x[r * t:]
        # A tag on no training post (or on all of them) has no direction to learn.
        self.b_[pos == 0] = -20.0
        self.b_[pos == 1] = 20.0
        return self

    def decision(self, x: Any) -> np.ndarray:
        return self._project(x) @ self.w_ + self.b_[None, :]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


class _PrimalRidge:
    """Ridge regression of every tag's 0/1 column at once (no feature centring, tag means
    removed): W = (Z^T Z + lam I)^-1 Z^T (Y - mean), one (dim, dim) solve for all tags
    whatever the blog's size.

    It is fitted from the sufficient statistics of its rows (`moments`), which add up over
    disjoint parts: cross-fitting computes each fold's once and every fold model is the
    sum of the others', one pass over the posts instead of one per model.
    """

    def __init__(self, lam: float = 1.0) -> None:
        self.lam = lam

    @staticmethod
    def moments(z: np.ndarray, y: sparse.csr_matrix) -> dict[str, Any]:
        z = np.asarray(z, dtype=np.float64)
        y = sparse.csr_matrix(y, dtype=np.float64)
        return {"gram": z.T @ z, "zsum": z.sum(axis=0), "zty": np.asarray((y.T @ z).T),
                "ysum": np.asarray(y.sum(axis=0)).ravel(), "count": z.shape[0]}

    def fit(self, z: np.ndarray, y: sparse.csr_matrix) -> _PrimalRidge:
        return self.fit_moments([self.moments(z, y)])

    def fit_moments(self, parts: Sequence[dict[str, Any]]) -> _PrimalRidge:
        """Fit on the union of the rows whose `moments` are `parts`."""
        total = {key: sum(part[key] for part in parts) for key in parts[0]}
        count = total["count"]
        self.mean_ = total["ysum"] / count if count else np.zeros(len(total["ysum"]))
        # Z^T (Y - 1 mean^T) = Z^T Y - (Z^T 1) mean^T, without densifying Y
        zty = total["zty"] - np.outer(total["zsum"], self.mean_)
        w = np.linalg.solve(total["gram"] + self.lam * np.eye(len(total["gram"])), zty)
        # Scores in float32: half the time of the (posts x dim) @ (dim x tags) products
        # that dominate scoring at 100k posts; a difference of ~1e-7 in a score.
        self.w_ = w.astype(np.float32)
        return self

    def decision(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float32) @ self.w_ + self.mean_[None, :]


class TfidfLRTags(TagMethod):
    """TF-IDF (fit on training posts) + one-vs-rest logistic regression."""

    name = "tfidf-lr"
    c = 10.0

    def _fit(self, train: _Batch) -> None:
        self.tfidf_ = _Tfidf().fit(train.counts)
        self.lr_ = _LinearOvR(self.c).fit(self.tfidf_.transform(train.counts), self.y_)

    def _scores(self, batch: _Batch) -> np.ndarray:
        return _sigmoid(self.lr_.decision(self.tfidf_.transform(batch.counts)))


# ---------------------------------------------------------------- the default


SIGNALS = ("lr", "knn", "prior", "title", "body", "mean")


class BlogrecTags(TagMethod):
    """The default: a stack of six signals, fused by weights learnt on the training posts.

    Signals for a (post, tag) pair:
      lr     ridge regression of every tag (lam=1, all tags in one primal solve) on
             [LSI | USE] / sqrt(2): LSI-200 of the TF-IDF of title + lede + cleaned body
             and USE of title + lede + headings, both unit rows (712 columns whatever the
             blog's size);
      knn    similarity-weighted vote of the 20 nearest training posts, similarity = mean
             of the LSI and the USE cosines; they are taken from each post's KNN_POOL
             nearest posts of the whole blog, found once (`ann.search`), so a fold's
             model keeps those among its training posts;
      prior  log of the tag's share of training posts (popularity);
      title  P(tag | tag name in the title), body P(tag | tag name in the text), each per
             tag, shrunk towards the blog-wide rate (`_LexicalRates`), 0 when no match;
      mean   cosine to the tag's mean vector (the study's signal).
    The fusion is a logistic regression over these signals fitted on out-of-fold values
    of the training posts (5-fold cross-fitting), so the weights are learnt per blog by a
    fixed procedure, never set by hand; the output is a calibrated probability. On a
    large blog the out-of-fold values of at most FUSION_PAIRS (post, tag) pairs (a fixed
    sample of posts) are computed: six weights need no more. Scores are computed
    SCORE_CHUNK posts at a time, so memory does not grow with posts x tags.

    Until 2026-11 `lr` was a kernel ridge on [TF-IDF | USE] (an n x n solve) and `knn`
    used TF-IDF + USE cosines; this form scales to 100k posts and scored higher on both
    corpora (MAP@5 ja-efcl 0.523 vs 0.515, en-18f 0.340 vs 0.322), 3-6x faster.

    Long tail: a tag seen on one or two training posts gets a weak `lr`/`knn` score, but
    its `title`/`body` signal falls back to the blog-wide rate of "name in the text means
    the tag is there", and its mean vector still points at its posts.
    """

    name = "blogrec"
    fields = BLOGREC_FIELDS
    lam = 1.0
    k = KNN_K
    folds = CROSS_FOLDS

    def __init__(self, helper: ThreadPoolExecutor | None = None) -> None:
        """helper: a thread pool that may fit some of the fold models
        (`parallel.share`); the same model whoever fits which."""
        self.helper = helper

    # ---- base signals for a model fitted on `train` (a subset), vocabulary fixed
    def _base_fit(self, train: _Batch, y: sparse.csr_matrix,
                  ridge: _PrimalRidge | None = None) -> dict[str, Any]:
        """The base signals' models on `train` (`ridge`: the `lr` model when the caller
        fitted it from fold moments)."""
        u = train.use(self.fields)
        tt, tb = self._matches(train)
        m: dict[str, Any] = {
            "y": y, "train": train.indices,
            "prior": np.log((np.asarray(y.sum(axis=0)).ravel() + 0.5) / (y.shape[0] + 1.0)),
            "lex": _LexicalRates().fit(y, tt, tb),
            "mean": _mean_vectors(y, u),
        }
        m["lr"] = ridge or _PrimalRidge(self.lam).fit(train.joint(), y)
        m["y_by_post"] = self._y_by_post(y, train.indices, len(train.features.posts))
        return m

    def _matches(self, batch: _Batch) -> tuple[Any, Any]:
        """(title, text) tag-name matches: dense for new posts, sparse for the blog's."""
        keys = self.vocab_.keys
        if batch.indices is None:
            return (lexical_matches([p.title for p in batch.posts], keys),
                    lexical_matches([post_text(p) for p in batch.posts], keys))
        idx = batch.indices
        return (_blog_matches(batch.features, "title", keys)[idx],
                _blog_matches(batch.features, "text", keys)[idx])

    def _knn_votes(self, m: dict[str, Any], batch: _Batch) -> sparse.csr_matrix:
        """Similarity-weighted vote of the k nearest training posts ([LSI | USE] inner
        product), from the KNN_POOL nearest posts of the whole blog, found once; sparse
        (a post's votes go to its neighbours' tags only)."""
        features = batch.features
        n_all = len(features.posts)
        train = m["train"]
        if batch.indices is not None:
            # a large blog's pool is a prefix of the approximate neighbour lists related
            # posts use too (one index for both): 20 of ~40 neighbours are needed
            pool = features.neighbours(KNN_POOL)
            idx, sim = pool[0][batch.indices], pool[1][batch.indices]
        else:  # new posts: exact search among the training posts
            joint = _Batch(features, indices=train).joint()
            found, sim = search(joint, min(self.k, len(train)), queries=batch.joint(),
                                mode="exact", exclude_self=False)
            idx = np.where(found >= 0, train[np.maximum(found, 0)], -1)
        in_train = np.zeros(n_all + 1, dtype=bool)
        in_train[train] = True
        ok = in_train[idx]  # idx -1 reads the extra False slot
        keep = ok & (np.cumsum(ok, axis=1) <= self.k)
        w = np.where(keep, np.maximum(sim, 0.0), 0.0).astype(np.float64)
        total = w.sum(axis=1, keepdims=True)
        w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        rows = np.repeat(np.arange(len(idx)), idx.shape[1])
        weights = sparse.csr_matrix((w.ravel(), (rows, np.maximum(idx, 0).ravel())),
                                    shape=(len(idx), n_all))
        return weights @ m["y_by_post"]

    @staticmethod
    def _y_by_post(y: sparse.csr_matrix, train: np.ndarray, n_all: int) -> sparse.csr_matrix:
        """(n_all, n_tags): the tags of training post train[r] in row train[r], empty rows
        for the others; what a kNN vote sums. Made once per model, not per block."""
        in_train = np.zeros(n_all, dtype=bool)
        in_train[train] = True
        y_all = sparse.csr_matrix((n_all, y.shape[1]))
        y_all = sparse.vstack([y_all, y]).tocsr()  # y_all[n_all + r] = y of train r
        position = np.full(n_all, 0, dtype=np.int64)
        position[train] = n_all + np.arange(len(train))
        pick = sparse.csr_matrix((np.ones(n_all), (np.arange(n_all), position)),
                                 shape=(n_all, y_all.shape[0]))
        pick = pick.multiply(in_train[:, None]).tocsr()
        return pick @ y_all

    def _signal_parts(self, m: dict[str, Any], batch: _Batch) -> list[Any]:
        """The base signals in SIGNALS order, as computed: lr and mean (n_posts, n_tags)
        arrays, the kNN votes sparse, the prior one row, and the title and body name
        matches (0/1, sparse for the blog's posts) before their per-tag rates
        (m["lex"].rates) apply. `_signal_list` densifies them, `_fused` sums them."""
        title, body = self._matches(batch)
        return [m["lr"].decision(batch.joint()), self._knn_votes(m, batch), m["prior"],
                title, body, batch.use(self.fields) @ m["mean"].T.astype(np.float32)]

    def _signal_list(self, m: dict[str, Any], batch: _Batch) -> list[np.ndarray]:
        """The base signals in SIGNALS order, each (n_posts, n_tags)."""
        lr, knn, prior, title, body, mean = self._signal_parts(m, batch)
        title, body = m["lex"].transform(
            *(x.toarray() if sparse.issparse(x) else x for x in (title, body)))
        return [lr, np.asarray(knn.todense()), np.broadcast_to(prior, lr.shape), title, body,
                mean]

    def _signals(self, m: dict[str, Any], batch: _Batch) -> np.ndarray:
        """(n_posts, n_tags, n_signals) base signals (callers pass SCORE_CHUNK rows)."""
        return np.stack(self._signal_list(m, batch), axis=2)

    def _fused(self, m: dict[str, Any], batch: _Batch) -> np.ndarray:
        """`fuse(_signals(m, batch))` without the (posts, tags, 6) array: a weighted sum
        of the signals (at 100k posts the stacked arrays were most of the step).

        Element for element the same operations as the plain sum (b, plus each weight
        times its signal in SIGNALS order, then `_sigmoid`), so the same bits; but the
        sparse signals (kNN votes, name matches: a few dozen tags per post of thousands)
        are added where they are non-zero only, and nothing is allocated per signal."""
        if self.fusion_ is None:
            lr, knn, _, title, body, _ = self._signal_list(m, batch)
            return (np.clip(lr, 0, 1) + knn + np.maximum(title, body)) / 3
        w, b = self._fusion_linear()
        z, knn, prior, title, body, mean = self._signal_parts(m, batch)
        np.multiply(z, w[0], out=z)  # z: lr, a new float64 array, summed into in place
        z += b  # (b + x == x + b exactly)

        def add_sparse(weight: float, values: Any, scale: np.ndarray | None = None) -> None:
            coo = sparse.coo_matrix(values)
            data = coo.data.astype(np.float64) if scale is None else scale[coo.col]
            z[coo.row, coo.col] += weight * data

        add_sparse(w[1], knn)
        z += (w[2] * prior)[None, :]
        add_sparse(w[3], title, m["lex"].rates[0])
        add_sparse(w[4], body, m["lex"].rates[1])
        z += w[5] * mean
        # the sigmoid of `_sigmoid`, in place
        np.clip(z, -35, 35, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1.0
        return np.divide(1.0, z, out=z)

    def _fusion_linear(self) -> tuple[np.ndarray, float]:
        """The fusion as weights on the raw signals and an intercept (standardisation
        folded in)."""
        w = self.fusion_.coef_[0] / self.sd_  # type: ignore[union-attr]
        return w, float(self.fusion_.intercept_[0] - np.dot(self.mu_, w))  # type: ignore[union-attr]

    def _chunked(self, m: dict[str, Any], batch: _Batch, fused: bool) -> np.ndarray:
        """Signals (fused=False) or fused scores of `batch`, SCORE_CHUNK rows at a time."""
        shape = (len(batch), len(self.vocab_.keys)) + (() if fused else (len(SIGNALS),))
        out = np.zeros(shape)
        for start in range(0, len(batch), SCORE_CHUNK):
            part = slice(start, min(len(batch), start + SCORE_CHUNK))
            sub = batch.sub(part)
            out[part] = self._fused(m, sub) if fused else self._signals(m, sub)
        return out

    def _fold_plan(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng(0)
        fold = rng.permutation(n) % max(2, min(self.folds, n))
        return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f))
                for f in np.unique(fold)]

    def _fit(self, train: _Batch) -> None:
        n = len(train)
        t = len(self.vocab_.keys)
        self.fusion_ = None
        self.fold_models_: list[tuple[np.ndarray, np.ndarray, dict[str, Any]]] = []
        if n < MIN_STACK_POSTS:  # too few posts to learn weights: fixed fallback
            self.model_ = self._base_fit(train, self.y_)
            self.oof_rows_ = np.arange(n)
            self.oof_signals_ = np.zeros((n, t, len(SIGNALS)))
            self.oof_seen_ = np.zeros((n, t), dtype=bool)
            return
        plan = self._fold_plan(n)
        joint = train.joint()
        # Each fold's moments, then each model from the others' (every fold's, for the
        # model of all posts): independent pieces, so `helper` may take some.
        parts: list[dict[str, Any]] = [{} for _ in plan]

        def fold_moments(f: int) -> None:
            te = plan[f][1]
            parts[f] = _PrimalRidge.moments(joint[te], self.y_[te])

        share(range(len(plan)), fold_moments, self.helper)
        models: list[dict[str, Any]] = [{} for _ in range(len(plan) + 1)]

        def fold_model(f: int) -> None:
            if f == len(plan):  # the model of all posts
                ridge = _PrimalRidge(self.lam).fit_moments(parts)
                models[f] = self._base_fit(train, self.y_, ridge)
                return
            tr = plan[f][0]
            ridge = _PrimalRidge(self.lam).fit_moments(parts[:f] + parts[f + 1:])
            models[f] = self._base_fit(_Batch(train.features, indices=train.indices[tr]),
                                       self.y_[tr], ridge)

        share(range(len(plan) + 1), fold_model, self.helper)
        self.model_ = models[-1]
        # The fold models (each fitted without one fold), kept: the out-of-fold signals
        # below and the out-of-fold suggestions (`_oof_blocks`) use the same ones.
        self.fold_models_ = [(tr, te, m) for (tr, te), m in zip(plan, models[:-1], strict=True)]
        # Out-of-fold signals of the training posts (cross-fitting): all of them, or a
        # fixed sample of about FUSION_PAIRS / n_tags posts on a large blog.
        size = max(MIN_FUSION_POSTS, FUSION_PAIRS // max(t, 1))
        sample = np.arange(n) if n <= size else np.sort(
            np.random.default_rng(0).choice(n, size, replace=False))
        where = np.full(n, -1, dtype=np.int64)
        where[sample] = np.arange(len(sample))
        oof = np.zeros((len(sample), t, len(SIGNALS)))
        seen = np.zeros((len(sample), t), dtype=bool)
        for _, te, m in self.fold_models_:
            te = te[where[te] >= 0]
            if not len(te):
                continue
            rows = where[te]
            oof[rows] = self._chunked(m, _Batch(train.features, indices=train.indices[te]),
                                      fused=False)
            seen[rows] = self._seen(m)
        self.oof_rows_ = sample
        self.oof_signals_ = oof
        self.oof_seen_ = seen
        self._fit_fusion(oof[seen], (self.y_[sample].toarray() > 0)[seen])

    @staticmethod
    def _seen(m: dict[str, Any]) -> np.ndarray:
        """(1, n_tags): the tags the model's training posts carry."""
        return (np.asarray(m["y"].sum(axis=0)).ravel() > 0)[None, :]

    def _fit_fusion(self, x: np.ndarray, y: np.ndarray) -> None:
        if not len(x) or y.all() or not y.any():  # nothing to learn weights from
            self.fusion_ = None
            return
        self.mu_ = x.mean(axis=0)
        self.sd_ = x.std(axis=0) + 1e-9
        self.fusion_ = LogisticRegression(C=1.0, max_iter=1000)
        self.fusion_.fit((x - self.mu_) / self.sd_, y)

    def fuse(self, signals: np.ndarray) -> np.ndarray:
        """Calibrated probability of each (post, tag) from its signals."""
        shape = signals.shape[:2]
        x = signals.reshape(-1, signals.shape[2])
        if self.fusion_ is None:  # small blog: equal parts ridge, vote and name match
            lr, knn, _, title, body, _ = x.T
            return (np.clip(lr, 0, 1) + knn + np.maximum(title, body)).reshape(shape) / 3
        w, b = self._fusion_linear()
        return _sigmoid(x @ w + b).reshape(shape)

    def _scores(self, batch: _Batch) -> np.ndarray:
        return self._chunked(self.model_, batch, fused=True)

    def oof_scores(self) -> np.ndarray:
        """Cross-fitted scores of the training posts (each from models not fitted on it);
        0 for tags no model of its fold saw. Dense (n_posts, n_tags): small blogs only,
        see `oof_suggestions`."""
        if len(self.oof_rows_) == len(self.train_):
            return self.fuse(self.oof_signals_) * self.oof_seen_
        out = np.zeros((len(self.train_), len(self.vocab_.keys)))
        for rows, scores in self._oof_blocks():
            out[rows] = scores
        return out

    def _oof_work(self) -> list[tuple[np.ndarray, Callable[[], np.ndarray]]]:
        """The cross-fitted score blocks, SCORE_CHUNK rows each: (training rows, a
        function that computes their scores). Each block depends on nothing but the
        fitted model, so any thread may compute any block."""
        work: list[tuple[np.ndarray, Callable[[], np.ndarray]]] = []
        if len(self.oof_rows_) == len(self.train_):
            for start in range(0, len(self.oof_rows_), SCORE_CHUNK):
                part = slice(start, start + SCORE_CHUNK)
                work.append((self.oof_rows_[part], lambda part=part: self.fuse(
                    self.oof_signals_[part]) * self.oof_seen_[part]))
            return work
        train = self.train_
        for _, te, m in self.fold_models_:  # the fit's fold models
            seen = self._seen(m)
            for start in range(0, len(te), SCORE_CHUNK):
                rows = te[start : start + SCORE_CHUNK]
                batch = _Batch(train.features, indices=train.indices[rows])
                work.append((rows, lambda m=m, batch=batch, seen=seen:
                             self._fused(m, batch) * seen))
        return work

    def _oof_blocks(self) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        """(training rows, their cross-fitted scores), SCORE_CHUNK rows at a time."""
        for rows, scores in self._oof_work():
            yield rows, scores()

    def oof_suggestions(self, k: int, helper: ThreadPoolExecutor | None = None
                        ) -> list[list[tuple[int, float]]]:
        """Top-k cross-fitted (tag column, score) of each training post, its own tags
        excluded, without holding the (n_posts, n_tags) matrix.

        helper: a thread pool that may take blocks too (`parallel.share`); the same lists
        whoever computes which block."""
        out: list[list[tuple[int, float]]] = [[] for _ in range(len(self.train_))]

        def block(item: tuple[np.ndarray, Callable[[], np.ndarray]]) -> None:
            rows, scores = item
            own = [{tag_key(t) for t in self.train_.posts[r].tags} for r in rows]
            for r, top in zip(rows, _top_suggestions(scores(), self.vocab_, k, own),
                              strict=True):
                out[r] = top

        share(self._oof_work(), block, helper)
        return out

    @property
    def weights(self) -> dict[str, float]:
        if self.fusion_ is None:
            return {}
        return {s: float(w / sd) for s, w, sd in zip(SIGNALS, self.fusion_.coef_[0], self.sd_,
                                                       strict=True)}


_CLASSES: dict[str, type[TagMethod]] = {
    "popularity": PopularityTags,
    "tag-name": TagNameTags,
    "mean-vector": MeanVectorTags,
    "knn": KnnTags,
    "tfidf-lr": TfidfLRTags,
    "blogrec": BlogrecTags,
}


def make_tag_method(name: str = DEFAULT_TAG_METHOD) -> TagMethod:
    """A fresh, unfitted tag method by name (see `TAG_METHODS`)."""
    try:
        return _CLASSES[name]()
    except KeyError:
        raise ValueError(f"unknown tag method {name!r}; choose from {', '.join(TAG_METHODS)}")\
            from None


TagSuggester = make_tag_method

# ================================================================ using it


def _suggestions(row: np.ndarray, vocab: TagVocabulary, k: int, exclude: set[str]
                 ) -> list[tuple[int, float]]:
    """Top-k (column, score) of a row outside `exclude` (see `_top_suggestions`)."""
    return _top_suggestions(row[None, :], vocab, k, [exclude])[0]


def _top_suggestions(scores: np.ndarray, vocab: TagVocabulary, k: int,
                     exclude: Sequence[set[str]]) -> list[list[tuple[int, float]]]:
    """Top-k (column, score) of each row of `scores` outside that row's `exclude` keys;
    ties (at 9 decimals): the more frequent tag, then the column.

    One selection for the whole block of rows: per-row numpy calls cost as much as the
    scores themselves at 100k posts. Only the columns at or above each row's k-th best
    allowed score are sorted (thousands of tags, a handful of candidates)."""
    n, t = scores.shape
    out: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    if k <= 0 or t == 0 or n == 0:
        return out
    rounded = np.round(scores, 9)
    banned = np.zeros((n, t), dtype=bool)
    index = vocab.index
    for r, keys in enumerate(exclude):
        banned[r, [index[key] for key in keys if key in index]] = True
    allowed = np.where(banned, -np.inf, rounded)
    kth = min(k, t)
    cut = np.partition(allowed, t - kth, axis=1)[:, t - kth]  # every tie of it stays in
    rows, cols = np.nonzero((allowed >= cut[:, None]) & ~banned)
    order = np.lexsort((cols, -vocab.counts[cols], -rounded[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n + 1))
    for r in range(n):
        top = cols[starts[r] : min(starts[r + 1], starts[r] + k)]
        out[r] = list(zip(top.tolist(), scores[r, top].tolist(), strict=True))
    return out


def parse_draft(path: str | Path) -> tuple[Post, str | None]:
    """A draft file as a `Post`, and a warning when its front matter could not be used.

    A draft whose front matter is broken (or absent) is read as raw text: the first
    non-empty line is the title, the whole text the body, no tags.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = decode(raw)
    except PostError as exc:
        if "empty" in str(exc):
            raise
        text = raw.decode("utf-8", errors="replace")
    try:
        post, _draft, _warnings = parse_post(text, path.name)
        return post, None
    except (PostError, RecursionError) as exc:
        warning = f"{path.name}: front matter not usable ({exc}); suggesting from the raw text"
    lines = [ln.strip().lstrip("#").strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln and not re.fullmatch(r"-{3,}|[\w-]+:.*", ln)]
    title = lines[0] if lines else path.stem
    body = text
    return Post(path=path.name, slug=path.stem, title=title[:300], date=None,
                headings=extract_headings(body), body=body), warning


def suggest_for_text(post: Post, features: Any, k: int = 5,
                     suggester: TagMethod | None = None) -> list[dict[str, Any]]:
    """Top-k tags (blog spelling) for a post that is not in the blog; existing tags flagged.

    suggester: a fitted method (default: `blogrec` fitted on all of `features.posts`).
    Tags already on the post stay in the ranking, marked "on_post": true.
    """
    model = suggester or make_tag_method().fit(features)
    row = model.scores(features, posts=[post])[0]
    own = {tag_key(t) for t in post.tags}
    return [
        {"tag": model.vocab_.display[j], "score": round(score, 4),
         "on_post": model.vocab_.keys[j] in own}
        for j, score in _suggestions(row, model.vocab_, k, set())
    ]


class NoTagsError(ValueError):
    """The blog has no tags to suggest from."""


NO_TAGS_MESSAGE = f"no post of this blog has tags (looked at {', '.join(TAG_FIELDS)})"


def has_tags(posts: Sequence[Post]) -> bool:
    return any(p.tags for p in posts)


def suggest_for_draft(path: str | Path, features: Any, k: int = 5,
                      suggester: TagMethod | None = None) -> dict[str, Any]:
    """Suggested tags for a draft file (see `parse_draft` and `suggest_for_text`).

    Returns {"path", "title", "warning" (None or text), "tags" (the draft's own tags, in
    the blog's spelling when the blog knows them), "suggestions" [{"tag", "score",
    "on_post"}], "method"}. NoTagsError if no post of the blog has a tag.
    """
    if suggester is None and not has_tags(features.posts):
        raise NoTagsError(NO_TAGS_MESSAGE)
    post, warning = parse_draft(path)
    model = suggester or make_tag_method().fit(features)
    display = dict(zip(model.vocab_.keys, model.vocab_.display, strict=True))
    return {
        "path": str(path),
        "title": post.title,
        "warning": warning,
        "tags": [display.get(tag_key(t), t) for t in post.tags],
        "suggestions": suggest_for_text(post, features, k, model),
        "method": model.name,
    }


# ---------------------------------------------------------------- duplicate tags


def loose_key(tag: str) -> str:
    """`tag_key` without separators: "Node.js", "node-js" and "nodejs" collide."""
    return "".join(re.findall(r"[^\W_]+", tag_key(tag)))


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def raw_tag_spellings(root: str | Path, posts: Sequence[Post]) -> dict[str, Counter[str]]:
    """tag_key -> Counter of the spellings written in the posts' front matter.

    `load_corpus` merges spellings into one display form and keeps the written ones in
    `Post.written_tags`; posts made without them (no written tags but some tags) are
    re-read from `root`.
    """
    out: dict[str, Counter[str]] = {}
    for p in posts:
        written = p.written_tags
        if p.tags and not written:
            try:
                raw, _, _ = parse_post(decode((Path(root) / p.path).read_bytes()), p.path)
            except (OSError, PostError, RecursionError):
                continue
            written = raw.tags
        for t in written:
            out.setdefault(tag_key(t), Counter())[t.strip()] += 1
    return out


def find_duplicate_tags(posts: Sequence[Post], root: str | Path | None = None,
                        min_jaccard: float = 0.8, min_support: int = 3) -> list[dict[str, Any]]:
    """Probable duplicate tags, each with evidence.

    kinds: "case" (one tag written in several spellings in the front matter; needs `root`
    to re-read them), "separator" (same letters once spaces, hyphens and dots are
    dropped: "Node.js" / "nodejs"), "edit-distance" (1 edit for names of 5+ letters, 2 for
    10+; names with digits are skipped as versions), "overlap" (posts nearly the same:
    Jaccard >= min_jaccard, both on >= min_support posts).
    """
    vocab = TagVocabulary.from_posts(posts)
    counts = dict(zip(vocab.keys, vocab.counts.astype(int).tolist(), strict=True))
    disp = dict(zip(vocab.keys, vocab.display, strict=True))
    y = vocab.matrix(posts).tocsc()
    together = (y.T @ y).tocsr()
    found: list[dict[str, Any]] = []

    def pair(a: int, b: int, kind: str, **extra: Any) -> dict[str, Any]:
        ka, kb = vocab.keys[a], vocab.keys[b]
        inter = int(together[a, b])  # sparse lookup
        union = counts[ka] + counts[kb] - inter
        return {"tags": [disp[ka], disp[kb]], "kind": kind, "evidence": {
            "posts": {disp[ka]: counts[ka], disp[kb]: counts[kb]},
            "together": inter, "jaccard": round(inter / union, 4) if union else 0.0, **extra}}

    if root is not None:
        for key, spellings in sorted(raw_tag_spellings(root, posts).items()):
            if len(spellings) > 1 and key in disp:
                found.append({"tags": [disp[key]], "kind": "case", "evidence": {
                    "spellings": dict(sorted(spellings.items(), key=lambda kv: -kv[1]))}})
    loose = [loose_key(k) for k in vocab.keys]
    seen: set[tuple[int, int]] = set()
    # Candidate pairs without comparing every pair (thousands of tags on a large blog):
    # two names within `limit` edits share a string made by deleting at most `limit`
    # characters from each (the "symmetric delete" index); each candidate is then checked.
    by_variant: dict[str, list[int]] = {}
    for a, la in enumerate(loose):
        if not la:
            continue
        for v in _deletions(la, 2 if len(la) >= 9 else 1):
            by_variant.setdefault(v, []).append(a)
    candidates = sorted({(a, b) for group in by_variant.values() for i, a in enumerate(group)
                         for b in group[i + 1:]})
    for a, b in candidates:
        la, lb = loose[a], loose[b]
        if la == lb:
            found.append(pair(a, b, "separator"))
            seen.add((a, b))
            continue
        m = min(len(la), len(lb))
        # Names with digits are usually versions (Firefox3 / Firefox4), not typos.
        if m >= 5 and not re.search(r"\d", la + lb):
            limit = 2 if m >= 10 else 1
            d = _edit_distance(la, lb, limit)
            if d <= limit:
                found.append(pair(a, b, "edit-distance", distance=d))
                seen.add((a, b))
    big = vocab.counts >= min_support
    co = sparse.triu(y.T @ y, k=1).tocoo()  # only tags that share a post can overlap
    for a, b, inter in sorted(zip(co.row.tolist(), co.col.tolist(), co.data.tolist(),
                                  strict=True)):
        if not (big[a] and big[b]):
            continue
        union = vocab.counts[a] + vocab.counts[b] - inter
        if union and inter / union >= min_jaccard and (a, b) not in seen:
            found.append(pair(int(a), int(b), "overlap"))
    return found


def _deletions(word: str, depth: int) -> set[str]:
    """`word` and every string made by deleting up to `depth` of its characters."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


# ---------------------------------------------------------------- site data


TAGS_SCHEMA = "blogrec/tags"
TAGS_VERSION = 1


def tags_payload(features: Any, k: int = 5, root: str | Path | None = None,
                 suggester: BlogrecTags | None = None,
                 helper: ThreadPoolExecutor | None = None) -> dict[str, Any]:
    """What `site_data/tags.json` holds.

    For each post (by slug): its tags and up to k suggested missing tags with scores. The
    default method is fitted on every post; a post's own suggestions come from its
    5-fold cross-fitted scores (base models that never saw the post; only the six fusion
    weights are shared), so a post's tags never leak into its own suggestions.
    `duplicates`: see `find_duplicate_tags` (root: the blog directory, for spellings).
    helper: a thread pool that may score some posts (`BlogrecTags.oof_suggestions`).
    """
    if suggester is None and not has_tags(features.posts):
        return {"schema": TAGS_SCHEMA, "version": TAGS_VERSION, "method": DEFAULT_TAG_METHOD,
                "note": NO_TAGS_MESSAGE, "tags": [],
                "posts": {p.slug: {"tags": [], "suggested": []} for p in features.posts},
                "duplicates": []}
    # The duplicate search (pure Python) beside the fit, if the helper is free for it.
    duplicates = (helper.submit(find_duplicate_tags, features.posts, root)
                  if helper is not None else None)
    model = suggester or BlogrecTags(helper).fit(features)
    vocab = model.vocab_
    suggestions = model.oof_suggestions(k, helper)
    posts_out: dict[str, Any] = {}
    for i, p in enumerate(features.posts):
        posts_out[p.slug] = {
            "tags": list(p.tags),
            "suggested": [{"tag": vocab.display[j], "score": round(s, 4)}
                          for j, s in suggestions[i] if s > 0],
        }
    return {
        "schema": TAGS_SCHEMA,
        "version": TAGS_VERSION,
        "method": model.name,
        "cross_fitting": f"{model.folds}-fold",
        "tags": [{"tag": d, "posts": int(c)} for d, c in zip(vocab.display, vocab.counts,
                                                               strict=True)],
        "posts": posts_out,
        # still queued behind the helper's other work (a small blog's map): do it here
        "duplicates": (find_duplicate_tags(features.posts, root)
                       if duplicates is None or duplicates.cancel() else duplicates.result()),
    }
