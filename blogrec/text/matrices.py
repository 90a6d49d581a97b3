"""Matrices of the words: term counts, TF-IDF (of words, and of words and word pairs), LSI,
sparse neighbours and passages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import randomized_svd

from ..corpus import Post
from ..vectors import normalize_rows
from .clean import clean_markdown


def count_matrix(token_lists: Iterable[Sequence[str]]) -> tuple[sparse.csr_matrix, list[str]]:
    """(n_docs, n_terms) term counts and the sorted vocabulary (terms of any document).

    One pass; `token_lists` may be a generator, so a large blog's token lists need not
    all be in memory at once."""
    col: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    data: list[int] = []
    for toks in token_lists:
        counts: dict[int, int] = {}
        for t in toks:
            c = col.setdefault(t, len(col))
            counts[c] = counts.get(c, 0) + 1
        indices.extend(counts)
        data.extend(counts.values())
        indptr.append(len(indices))
    vocab = sorted(col)
    rank = np.empty(len(col), dtype=np.int64)  # first-seen id -> sorted position
    rank[[col[t] for t in vocab]] = np.arange(len(vocab))
    m = sparse.csr_matrix(
        (np.asarray(data, dtype=np.float32), rank[np.asarray(indices, dtype=np.int64)],
         np.asarray(indptr, dtype=np.int64)),
        shape=(len(indptr) - 1, len(vocab)),
    )
    m.sort_indices()
    return m, vocab


def counts_in_vocab(token_lists: Sequence[Sequence[str]], vocab: Sequence[str]
                    ) -> sparse.csr_matrix:
    """Term counts of new documents over an existing vocabulary (other words dropped)."""
    col = {t: i for i, t in enumerate(vocab)}
    rows, cols = [], []
    for r, toks in enumerate(token_lists):
        for t in toks:
            c = col.get(t)
            if c is not None:
                rows.append(r)
                cols.append(c)
    m = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)),
        shape=(len(token_lists), len(vocab)),
    )
    m.sum_duplicates()
    return m


class TfidfModel:
    """TF-IDF over a fixed count matrix's columns, fitted on some of its rows.

    The same weighting as scikit-learn's `TfidfVectorizer(sublinear_tf=True,
    max_df=max_df)` fitted on those documents (smooth idf, terms in more than `max_df` of
    them or in none dropped, rows L2-normalised), but on counts computed once: fitting
    five cross-fitting folds no longer re-counts every document five times.

    idf_power > 1 weighs rare terms up further: each term's weight is idf ** idf_power
    (`idf_` holds the weights used).
    """

    def __init__(self, max_df: float = 0.5, idf_power: float = 1.0) -> None:
        self.max_df = max_df
        self.idf_power = idf_power

    def fit(self, counts: sparse.csr_matrix) -> TfidfModel:
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        max_df = self.max_df if n > 20 else 1.0
        keep = (df > 0) & (df <= max_df * n)
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        self.idf_ = np.where(keep, idf if self.idf_power == 1.0 else idf**self.idf_power, 0.0)
        self.ok = bool(keep.any())
        return self

    def transform(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        x = sparse.csr_matrix(counts, dtype=np.float64, copy=True)
        x.data = (np.log(x.data) + 1.0) * self.idf_[x.indices]
        x.eliminate_zeros()  # words the fitted documents did not use, or dropped by max_df
        return normalize(x).astype(np.float32)


def _pair_keys(ids: np.ndarray, n_words: int) -> np.ndarray:
    """Each pair of adjacent word columns as one integer (first * n_words + second)."""
    return ids[:-1] * n_words + ids[1:]


def pair_count_matrix(token_lists: Iterable[Sequence[str]]) -> sparse.csr_matrix:
    """(n_docs, n_words + n_pairs) counts of each document's words (`count_matrix`'s
    columns first), then of its pairs of adjacent words, in the order of (first, second).
    (`PairTfidf.fit` keeps the vocabulary and the pairs, to count new documents.)"""
    return _fit_pair_counts(token_lists)[0]


def _fit_pair_counts(token_lists: Iterable[Sequence[str]],
                     words: tuple[sparse.csr_matrix, list[str]] | None = None
                     ) -> tuple[sparse.csr_matrix, list[str], np.ndarray]:
    """(`pair_count_matrix`, the words, the pairs' keys, sorted); words: the documents'
    `count_matrix`, when already counted.

    Pairs are counted as integers (`_pair_keys`), not as strings: a string per pair made
    counting 6x slower than the words alone."""
    docs = [list(t) for t in token_lists]
    words, vocab = words if words is not None else count_matrix(docs)
    n, v = words.shape
    col = {t: i for i, t in enumerate(vocab)}
    keys, owner = [], []
    for d, toks in enumerate(docs):
        if len(toks) > 1:
            ids = np.fromiter((col[t] for t in toks), dtype=np.int64, count=len(toks))
            keys.append(_pair_keys(ids, v))
            owner.append(np.full(len(toks) - 1, d, dtype=np.int64))
    if not keys:
        return words, vocab, np.zeros(0, dtype=np.int64)
    pair, pair_col = np.unique(np.concatenate(keys), return_inverse=True)
    cell, counts = np.unique(np.concatenate(owner) * len(pair) + pair_col, return_counts=True)
    pairs = sparse.csr_matrix((counts.astype(np.float32), (cell // len(pair), cell % len(pair))),
                              shape=(n, len(pair)))
    return sparse.hstack([words, pairs], format="csr", dtype=np.float32), vocab, pair


# The pair signal's idf power: links between posts follow their rare, specific words
# (tool names, projects, phrases). Squared idf raised TF-IDF on words + pairs from hit@4
# 0.815 to 0.858 (ja-efcl) and 0.706 to 0.730 (en-18f), links hidden (issue 17).
PAIR_IDF_POWER = 2.0


class PairTfidf:
    """TF-IDF of the words and adjacent word pairs (`pair_count_matrix`) of each
    document: sublinear tf, idf ** idf_power, max_df 0.5 (`TfidfModel`), L2 rows. Two
    posts that share a phrase ("garbage collection", "静的 解析") are closer than two that
    only share its words.

    `fit_transform` the blog's token lists, then `transform` new ones (a draft) into the
    same columns: words and pairs that no post has are dropped.
    """

    def __init__(self, idf_power: float = PAIR_IDF_POWER) -> None:
        self.idf_power = idf_power

    def fit_transform(self, token_lists: Iterable[Sequence[str]],
                      words: tuple[sparse.csr_matrix, list[str]] | None = None
                      ) -> sparse.csr_matrix:
        """words: `count_matrix(token_lists)`, when the caller has it already."""
        counts, self.vocab_, self.pairs_ = _fit_pair_counts(token_lists, words)
        self.model_ = TfidfModel(idf_power=self.idf_power).fit(counts)
        return self._weigh(counts)

    def transform(self, token_lists: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        words = counts_in_vocab(token_lists, self.vocab_)
        col = {t: i for i, t in enumerate(self.vocab_)}
        rows, cols = [], []
        for r, toks in enumerate(token_lists):
            ids = np.array([col.get(t, -1) for t in toks], dtype=np.int64)
            if len(ids) < 2:
                continue
            keys = _pair_keys(ids, len(self.vocab_))[(ids[:-1] >= 0) & (ids[1:] >= 0)]
            at = np.searchsorted(self.pairs_, keys)
            known = at < len(self.pairs_)
            known[known] = self.pairs_[at[known]] == keys[known]
            rows.extend([r] * int(known.sum()))
            cols.extend(at[known].tolist())
        pairs = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                  shape=(len(token_lists), len(self.pairs_)))
        pairs.sum_duplicates()
        return self._weigh(sparse.hstack([words, pairs], format="csr", dtype=np.float32))

    def _weigh(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        if not self.model_.ok:  # every document empty, or every term in most of them
            return sparse.csr_matrix((counts.shape[0], 1), dtype=np.float32)
        return self.model_.transform(counts)


def pair_tfidf(token_lists: Iterable[Sequence[str]]) -> sparse.csr_matrix:
    """`PairTfidf().fit_transform(token_lists)`."""
    return PairTfidf().fit_transform(token_lists)


# LSI comes from the (n, n) Gram matrix of the posts: eigendecomposed exactly up to
# LSI_EXACT_MAX posts (0.1 s at 745), by randomised SVD up to LSI_SAMPLE; a larger blog's
# topic basis comes from a fixed random sample of LSI_SAMPLE posts.
LSI_EXACT_MAX = 1000


LSI_SAMPLE = 2000


def _top_eigen(gram: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest eigenvalues (descending) and eigenvectors of a PSD matrix: exact up
    to LSI_EXACT_MAX rows (O(n^3)), else randomised (4 power iterations, fixed seed)."""
    if len(gram) <= LSI_EXACT_MAX:
        vals, vecs = np.linalg.eigh(gram)
        top = np.argsort(-vals, kind="stable")[:k]
        return vals[top], vecs[:, top]
    u, s, _ = randomized_svd(gram, k, n_iter=4, random_state=seed)
    return s, u


def lsi_vectors(tfidf: sparse.csr_matrix, dims: int = 200, seed: int = 0) -> np.ndarray:
    """Latent semantic indexing: truncated SVD of TF-IDF (U S), rows L2-normalised."""
    return lsi_fit(tfidf, dims, seed)[0]


def lsi_fit(tfidf: sparse.csr_matrix, dims: int = 200, seed: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """(LSI vectors of the rows, projection P): the vectors are the rows of
    normalize_rows(tfidf @ P), so a new document's TF-IDF row maps the same way.

    A blog has far fewer posts than words, so U S comes from the eigenvectors of X X^T:
    exactly up to `LSI_EXACT_MAX` posts (745 posts: 0.1 s against 1.6 s for a randomised
    SVD of X), by a randomised eigendecomposition up to `LSI_SAMPLE`. Above, the topic
    basis V = X_s^T U S^-1 comes from a fixed random sample of `LSI_SAMPLE` posts and
    every post is projected on it (100k posts: seconds, where a randomised SVD of the
    whole matrix took about a minute). Signs are fixed so each component's largest
    entry is positive.
    """
    x = sparse.csr_matrix(tfidf, dtype=np.float64)
    n_comp = min(dims, min(x.shape) - 1)
    if n_comp < 1 or x.nnz == 0:
        dim = max(n_comp, 1)
        return np.zeros((x.shape[0], dim), dtype=np.float32), np.zeros((x.shape[1], dim))
    n = x.shape[0]
    # The topic basis comes from the eigenvectors of the Gram matrix X_s X_s^T of all
    # posts, or of a fixed random sample of LSI_SAMPLE of them on a larger blog: the
    # exact SVD of those rows, V = X_s^T U S^-1; every post is then projected, X V.
    rows = np.arange(n) if n <= LSI_SAMPLE else np.sort(
        np.random.default_rng(seed).choice(n, LSI_SAMPLE, replace=False))
    xs = x[rows]
    vals, vecs = _top_eigen(np.asarray((xs @ xs.T).todense()), n_comp, seed)
    keep = vals > 1e-12 * max(float(vals.max(initial=0.0)), 1e-30)
    basis = np.asarray(xs.T @ (vecs[:, keep] / np.sqrt(vals[keep])[None, :]))
    if basis.shape[1] < n_comp:
        basis = np.hstack([basis, np.zeros((basis.shape[0], n_comp - basis.shape[1]))])
    basis = basis.astype(np.float32)  # (n_terms, dims): 240 MB at 300k terms
    us = np.asarray(x.astype(np.float32) @ basis)
    flip = np.sign(us[np.argmax(np.abs(us), axis=0), np.arange(us.shape[1])])
    flip = np.where(flip == 0, 1.0, flip).astype(np.float32)
    return normalize_rows(us * flip[None, :]), basis * flip[None, :]


def char_ngram_tfidf(texts: Sequence[str], ngrams: tuple[int, int] = (2, 4)
                     ) -> sparse.csr_matrix:
    """TF-IDF of character n-grams within words (scikit-learn's `char_wb`), sublinear tf,
    L2 rows: what the TF-IDF related-posts plugins of static sites compute, and a
    tokeniser-free reading of CJK text."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(t.strip() for t in texts):
        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, sublinear_tf=True,
                                 dtype=np.float32)
    return sparse.csr_matrix(vectorizer.fit_transform(texts))


def bm25_weights(counts: sparse.csr_matrix, k1: float = 1.2, b: float = 0.75
                 ) -> sparse.csr_matrix:
    """Okapi BM25 term weights of each document (idf log(1 + (n - df + 0.5)/(df + 0.5))):
    a query's score for document d is the sum of d's weights over the query's terms."""
    x = sparse.csr_matrix(counts, dtype=np.float64, copy=True)
    n = x.shape[0]
    df = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float64)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    length = np.asarray(x.sum(axis=1)).ravel()
    norm = k1 * (1.0 - b + b * length / max(float(length.mean()), 1e-9))
    row_norm = np.repeat(norm, np.diff(x.indptr))
    x.data = idf[x.indices] * x.data * (k1 + 1.0) / (x.data + row_norm)
    return x.astype(np.float32)


def _top_m_order(sims: np.ndarray, m: int) -> np.ndarray:
    """Column indices of each row's m largest values, best first, values compared
    rounded to 6 decimals and ties to the smaller index: a stable argsort's first m.

    Through a partition: the full sort of 512 x 10k similarities was two thirds of a
    10k-post blog's sparse neighbour search. Every entry at or above a row's m-th value
    is kept (all of a tie), then only those are sorted by (value, index).
    """
    key = -np.round(sims, 6)
    if m >= key.shape[1]:
        return np.argsort(key, axis=1, kind="stable")[:, :m]
    kth = np.partition(key, m - 1, axis=1)[:, m - 1 : m]
    rows, cols = np.nonzero(key <= kth)  # >= m per row
    order = np.lexsort((cols, key[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    first = np.searchsorted(rows, np.arange(len(key)))
    return cols[first[:, None] + np.arange(m)]


def sparse_top_m(
    x: sparse.csr_matrix,
    m: int,
    extra: np.ndarray | None = None,
    chunk: int = 512,
    y: sparse.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Top-m cosine neighbours of every row of an L2-normalised sparse matrix, in chunks
    (with `y`, of the rows of x against the rows of y, same count: any x @ y.T score).

    Never holds more than `chunk` x n similarities. Also returns each row's exact mean and
    standard deviation of its similarities to all other rows, and, when `extra` (n, e)
    int64 column indices are given, the similarities at those columns (-1: nan).
    Returns (indices (n, m), scores (n, m), mean (n,), std (n,), extra_scores | None);
    self is excluded and ties go to the smaller index.
    """
    x = sparse.csr_matrix(x, dtype=np.float32)
    n = x.shape[0]
    m = min(m, max(n - 1, 0))
    idx = np.full((n, m), -1, dtype=np.int64)
    val = np.zeros((n, m), dtype=np.float32)
    mean = np.zeros(n, dtype=np.float64)
    std = np.zeros(n, dtype=np.float64)
    got = None if extra is None else np.full(extra.shape, np.nan, dtype=np.float32)
    xt = (x if y is None else sparse.csr_matrix(y, dtype=np.float32)).T.tocsc()
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        sims = np.asarray((x[start:stop] @ xt).todense(), dtype=np.float32)
        rows = np.arange(stop - start)
        if extra is not None and got is not None:
            e = extra[start:stop]
            ok = e >= 0
            got[start:stop][ok] = sims[np.nonzero(ok)[0], e[ok]]
        sims[rows, rows + start] = np.nan
        if n > 1:
            mean[start:stop] = np.nanmean(sims, axis=1)
            std[start:stop] = np.nanstd(sims, axis=1)
        if m == 0:
            continue
        sims[rows, rows + start] = -np.inf
        order = _top_m_order(sims, m)
        idx[start:stop] = order
        val[start:stop] = np.take_along_axis(sims, order, axis=1)
    return idx, val, mean, std, got


def passages(post: Post, size: int = 600, limit: int = 8) -> list[str]:
    """Title + lede + cleaned body packed into <= `limit` passages of <= `size` chars."""
    lines = [post.title, post.lede, *clean_markdown(post.body).split("\n")]
    out: list[str] = []
    cur = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        while len(line) > size:
            if cur:
                out.append(cur)
                cur = ""
            out.append(line[:size])
            line = line[size:]
        if cur and len(cur) + 1 + len(line) > size:
            out.append(cur)
            cur = line
        else:
            cur = f"{cur}\n{line}" if cur else line
        if len(out) >= limit:
            break
    if cur and len(out) < limit:
        out.append(cur)
    return out[:limit] or [post.title]
