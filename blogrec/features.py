"""Per-run feature store: every representation of the posts, computed once and shared.

Related posts, tag suggestion and clustering all read from one `Features` object, so a
build embeds each text once (through the on-disk cache) and tokenises each post once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
from scipy import sparse

from .ann import candidate_params, choose_mode, search
from .corpus import Post
from .embeddings.cache import EmbeddingCache, embed_texts
from .embeddings.encoders import DEFAULT_FIELDS, Encoder, Progress, document_text
from .fingerprint import code_digest
from .store import text_key
from .text.clean import CleanCache, clean_markdown, lexical_text
from .text.matrices import (
    PairTfidf,
    TfidfModel,
    bm25_weights,
    char_ngram_tfidf,
    count_matrix,
    counts_in_vocab,
    lsi_fit,
    passages,
)
from .text.tokens import TokenCache, tokenize
from .vectors import normalize_rows

log = logging.getLogger(__name__)

# An approximate neighbour search (large blogs) runs once per build, for at least this
# many neighbours, and serves every caller: related posts' candidates (100) and the tag
# model's kNN pool (40, a prefix).
APPROX_NEIGHBOURS = 100


def joint_vectors(lsi: np.ndarray, use: np.ndarray) -> np.ndarray:
    """[LSI | USE] / sqrt(2), float32: unit rows whose inner product is the mean of the
    LSI and the USE cosines."""
    return np.hstack([lsi, use]).astype(np.float32) / np.float32(np.sqrt(2.0))


class Features:
    """Lazily computed, memoised representations of `posts`.

    encoder: the sentence encoder (None: texts cannot be embedded, only lexical features).
    cache_dir: where embedding caches live (None: no on-disk cache).
    namespace: keeps one cache file per blog (the build passes the posts directory).
    cache: the embedding cache of `encoder` if already opened.
    """

    def __init__(
        self,
        posts: Sequence[Post],
        encoder: Encoder | None,
        cache_dir: str | None = None,
        progress: Progress | None = None,
        namespace: str | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.posts = list(posts)
        self.encoder = encoder
        self.progress = progress
        # cache: the embedding cache, if the caller opened it already (it is read once)
        self.cache = cache if cache is not None else (
            EmbeddingCache(cache_dir, encoder.model_id, namespace)
            if (cache_dir and encoder) else None
        )
        self.token_cache = None
        self.clean_cache = None
        if cache_dir:
            self.token_cache = TokenCache(cache_dir, namespace)
            self.clean_cache = CleanCache(cache_dir, code_digest(), namespace)
        self.timings: dict[str, float] = {}
        self.encoded = 0  # texts actually run through the encoder (cache misses)
        self._memo: dict[Any, Any] = {}
        self._used: set[bytes] = set()

    # ------------------------------------------------------------ embeddings

    def embed(self, texts: Sequence[str], label: str = "texts") -> np.ndarray:
        """Embed arbitrary texts through the cache (L2-normalised rows)."""
        if self.encoder is None:
            raise RuntimeError("no encoder configured")
        start = time.perf_counter()
        vectors, encoded = embed_texts(texts, self.encoder, self.cache, progress=self.progress)
        self._used.update(text_key(t) for t in texts)
        self.encoded += encoded
        self.timings[f"embed:{label}"] = time.perf_counter() - start
        return vectors

    def use(self, fields: Sequence[str] = DEFAULT_FIELDS) -> np.ndarray:
        """Sentence embeddings of each post's document text built from `fields`."""
        key = ("use", tuple(fields))
        if key not in self._memo:
            texts = [document_text(p, fields) for p in self.posts]
            self._memo[key] = self.embed(texts, label="+".join(fields))
        return self._memo[key]

    def subset(self, rows: Sequence[int]) -> Features:
        """The features of the posts `rows` (in that order), as if they were the whole
        blog: the blog-level models (TF-IDF, LSI, BM25, the neighbour search) are fitted
        on them alone. Memoised. The encoder and both caches are shared, and what this
        store already computed per post (embeddings, cleaned texts, tokens) is carried
        over by slicing, so nothing is encoded or tokenised again; the texts the subset
        embeds count as used here, so `save_cache` keeps them."""
        rows = [int(i) for i in rows]
        key = ("subset", tuple(rows))
        if key in self._memo:
            return self._memo[key]
        sub = Features([self.posts[i] for i in rows], self.encoder, progress=self.progress,
                       cache=self.cache)
        sub.token_cache = self.token_cache
        sub.clean_cache = self.clean_cache
        sub._used = self._used  # one set: the parent's save keeps the subset's texts
        # Per-post memos only: USE vectors of whole posts (the keys' first element).
        for memo_key, value in self._memo.items():
            if memo_key[0] in ("use", "use-passages"):
                sub._memo[memo_key] = value[rows]
        for name in ("clean_texts", "tokens"):
            if name in self.__dict__:
                sub.__dict__[name] = [self.__dict__[name][i] for i in rows]
        self._memo[key] = sub
        return sub

    def save_cache(self) -> None:
        """Write the embedding, token and clean-text caches, keeping only the texts this
        run used."""
        if self.cache is not None:
            self.cache.retain(self._used)
            self.cache.save()
        if self.clean_cache is not None and "clean_texts" in self.__dict__:
            self.clean_cache.save()
        if self.token_cache is not None and "tokens" in self.__dict__:
            self.token_cache.retain(self.clean_texts)
            self.token_cache.save()

    # ------------------------------------------------------------ lexical

    @cached_property
    def clean_texts(self) -> list[str]:
        """Title + cleaned full body of each post (HTML, code, link targets, URLs removed),
        through the on-disk clean-text cache when there is one."""
        clean = clean_markdown if self.clean_cache is None else self.clean_cache.clean_markdown
        return [lexical_text(p, clean) for p in self.posts]

    @cached_property
    def tokens(self) -> list[str]:
        """Content words of each post's `clean_texts` (`text.tokens.tokenize`), space-
        joined (compact), through the on-disk token cache when there is one."""
        start = time.perf_counter()
        if self.token_cache is not None:
            toks = self.token_cache.tokenize(self.clean_texts)
        else:
            toks = [" ".join(tokenize(t)) for t in self.clean_texts]
        self.timings["tokenize"] = time.perf_counter() - start
        return toks

    @cached_property
    def counts(self) -> tuple[sparse.csr_matrix, list[str]]:
        """(term counts (n_posts, n_terms), vocabulary) of `tokens`; shared by the related
        posts' TF-IDF and the tag models' per-fold TF-IDF."""
        return count_matrix(t.split() for t in self.tokens)

    @cached_property
    def tfidf(self) -> sparse.csr_matrix:
        """TF-IDF of `tokens` over all posts (sublinear tf, max_df 0.5, L2 rows)."""
        start = time.perf_counter()
        counts = self.counts[0]
        model = TfidfModel().fit(counts)
        self._tfidf_model = model if model.ok else None
        if model.ok:
            m = model.transform(counts)
        else:  # every post empty after tokenisation
            m = sparse.csr_matrix((len(self.posts), 1), dtype=np.float32)
        self.timings["tfidf"] = time.perf_counter() - start
        return m

    @cached_property
    def pair_tfidf(self) -> sparse.csr_matrix:
        """TF-IDF of the words and adjacent word pairs of `tokens`
        (`text.matrices.PairTfidf`): the default's lexical signal."""
        start = time.perf_counter()
        self._pair_model = PairTfidf()
        m = self._pair_model.fit_transform((t.split() for t in self.tokens), self.counts)
        self.timings["pair-tfidf"] = time.perf_counter() - start
        return m

    def pair_tfidf_of(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Rows of new texts (a draft, its sentences) in the space of `pair_tfidf`."""
        self.pair_tfidf  # noqa: B018  (fits the model)
        return self._pair_model.transform([tokenize(t) for t in texts])

    @cached_property
    def char_tfidf(self) -> sparse.csr_matrix:
        """TF-IDF of character 2-4-grams of `clean_texts` (`text.matrices.char_ngram_tfidf`)."""
        start = time.perf_counter()
        m = char_ngram_tfidf([t.casefold() for t in self.clean_texts])
        self.timings["char-tfidf"] = time.perf_counter() - start
        return m

    @cached_property
    def bm25(self) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """(queries, documents) for BM25 over `tokens`: each post's distinct words, and the
        posts' BM25 term weights; post i's score for post j is queries[i] . documents[j]."""
        counts = self.counts[0]
        queries = sparse.csr_matrix(counts, dtype=np.float32, copy=True)
        queries.data[:] = 1.0
        return queries, bm25_weights(counts)

    @cached_property
    def lsi(self) -> np.ndarray:
        """200-dim LSI of `tfidf` (truncated SVD, as Jekyll --lsi), rows L2-normalised."""
        start = time.perf_counter()
        v, self._lsi_projection = lsi_fit(self.tfidf, dims=200)
        self.timings["lsi"] = time.perf_counter() - start
        return v

    @cached_property
    def joint(self) -> np.ndarray:
        """`joint_vectors` of `lsi` and the USE of title + lede + headings: the tag model's
        features and the space both neighbour lists come from (see `neighbours`)."""
        return joint_vectors(self.lsi, self.use(DEFAULT_FIELDS))

    def neighbours(self, m: int, index: str = "auto") -> tuple[np.ndarray, np.ndarray]:
        """(indices, inner products), each (n_posts, m): every post's top-m other posts in
        `joint`, through `ann.search` (exact or approximate by size; `index` forces one).

        Searched once per build: an approximate search asks for max(m, APPROX_NEIGHBOURS)
        and callers read a prefix, so related posts and tags share one index (at 100k
        posts each search costs about a minute) and the answer does not depend on which
        step asked first.
        """
        n = len(self.posts)
        approx = choose_mode(n, index) == "approx"
        want = max(m, APPROX_NEIGHBOURS) if approx else m
        key = ("joint-neighbours", want, index)
        if key not in self._memo:
            start = time.perf_counter()
            params = candidate_params(*self.joint.shape) if approx else None
            self._memo[key] = search(self.joint, want, mode=index, params=params)
            self.timings[f"neighbours:{want}"] = time.perf_counter() - start
        idx, sim = self._memo[key]
        return idx[:, :m], sim[:, :m]

    def tfidf_of(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of new texts (e.g. a draft, its sentences) in the space of `tfidf`:
        the posts' weights; words that no post uses are dropped."""
        self.tfidf  # noqa: B018  (fits the model)
        if self._tfidf_model is None:
            return sparse.csr_matrix((len(texts), self.tfidf.shape[1]), dtype=np.float32)
        counts = counts_in_vocab([tokenize(t) for t in texts], self.counts[1])
        return self._tfidf_model.transform(counts)

    def lsi_of(self, texts: Sequence[str]) -> np.ndarray:
        """LSI vectors of new texts (e.g. drafts) in the space of `lsi`: their words that
        no post uses are dropped, the posts' TF-IDF weights and topic basis applied."""

        self.lsi  # noqa: B018  (fits the projection)
        if self._tfidf_model is None:
            return np.zeros((len(texts), self.lsi.shape[1]), dtype=np.float32)
        counts = counts_in_vocab([tokenize(t) for t in texts], self.counts[1])
        x = self._tfidf_model.transform(counts)
        return normalize_rows(np.asarray(x @ self._lsi_projection))

    def use_passages(self, size: int = 600, limit: int = 8) -> np.ndarray:
        """Mean of the embeddings of each post's first `limit` passages of <= `size` chars.

        Passages pack whole lines of title + lede + cleaned body; rows L2-normalised.
        """

        key = ("use-passages", size, limit)
        if key not in self._memo:
            parts = [passages(p, size, limit) for p in self.posts]
            flat = [t for ps in parts for t in ps]
            vecs = self.embed(flat, label="passages")
            owner = np.repeat(np.arange(len(parts)), [len(ps) for ps in parts])
            sums = np.zeros((len(parts), vecs.shape[1]), dtype=np.float64)
            np.add.at(sums, owner, vecs)
            self._memo[key] = normalize_rows(sums)
        return self._memo[key]
