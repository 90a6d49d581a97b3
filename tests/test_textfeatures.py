"""Lexical features: the token cache, TF-IDF from shared counts, LSI for new texts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from blogrec.features import Features
from blogrec.text.matrices import (
    TfidfModel,
    count_matrix,
    pair_count_matrix,
    pair_tfidf,
    sparse_top_m,
)
from blogrec.text.tokens import TokenCache, tokenize

DOCS = [
    "Python packaging with uv and pyproject",
    "Rust ownership and borrowing explained",
    "Python typing: protocols and generics",
    "東京でラーメンを食べた話",
    "ラーメンの作り方と東京の名店",
]


def test_token_cache_reuses_tokens_and_prunes_texts_no_longer_used(tmp_path, monkeypatch):
    cache = TokenCache(tmp_path, namespace="blog")
    first = cache.tokenize(DOCS)
    assert first[0].split() == tokenize(DOCS[0])
    cache.save()

    calls = []
    monkeypatch.setattr("blogrec.text.tokens.tokenize",
                        lambda text, lang=None: calls.append(text) or ["x"])
    again = TokenCache(tmp_path, namespace="blog")
    assert again.tokenize(DOCS) == first and calls == []  # all from the file
    assert again.tokenize(["a new post"]) == ["x"] and calls == ["a new post"]
    again.retain(DOCS[:2])
    again.save()
    assert len(TokenCache(tmp_path, namespace="blog").tokens) == 2


def test_a_corrupt_token_cache_is_ignored_and_rebuilt(tmp_path, caplog):
    cache = TokenCache(tmp_path)
    cache.tokenize(DOCS)
    cache.save()
    data = bytearray(cache.path.read_bytes())
    data[-3] ^= 0xFF
    cache.path.write_bytes(bytes(data))
    fresh = TokenCache(tmp_path)
    assert fresh.tokens == {} and "ignoring token cache" in caplog.text
    assert fresh.tokenize(DOCS[:1])[0].split() == tokenize(DOCS[0])


def test_tfidf_from_counts_matches_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [tokenize(d) for d in DOCS * 5]  # 25 documents: max_df 0.5 applies
    counts, vocab = count_matrix(docs)
    train, test = counts[::2], counts[1::2]
    ours = TfidfModel().fit(train).transform(test)
    ref = TfidfVectorizer(analyzer=lambda t: t, sublinear_tf=True, max_df=0.5,
                          dtype=np.float32).fit(docs[::2]).transform(docs[1::2])
    assert sorted(vocab) == vocab
    np.testing.assert_allclose((ours @ ours.T).toarray(), (ref @ ref.T).toarray(),
                               atol=1e-6)


def test_lsi_of_a_new_text_matches_the_posts_own_vector(sample_posts):
    features = Features(sample_posts, encoder=None)
    again = features.lsi_of(features.clean_texts[:3])
    np.testing.assert_allclose(again, features.lsi[:3], atol=1e-5)
    other = features.lsi_of(["kubernetes liveness probes and readiness"])
    assert other.shape == (1, features.lsi.shape[1]) and np.isfinite(other).all()


@pytest.fixture(scope="module")
def sample_posts():
    from blogrec.corpus import load_corpus

    from .conftest import SAMPLE_BLOG

    return load_corpus(SAMPLE_BLOG).posts


def test_pair_counts_are_the_words_then_the_adjacent_pairs():
    counts = pair_count_matrix([["a", "b", "a", "b"], ["b"], []]).toarray()
    # columns: a, b, then the pairs (a, b), (b, a)
    np.testing.assert_array_equal(counts, [[2, 2, 2, 1], [0, 1, 0, 0], [0, 0, 0, 0]])
    x = pair_tfidf([[], []])  # nothing to weigh: one zero column, no NaN
    assert x.shape == (2, 1) and x.nnz == 0
    x = pair_tfidf([["a", "b"], ["a", "b"], ["b", "a"]]).toarray()
    assert x[0] @ x[1] == pytest.approx(1.0) and x[0] @ x[2] < 1.0


@pytest.mark.parametrize("m", [1, 3, 29])
def test_sparse_top_m_is_the_stable_sort_ties_to_the_smaller_index(m):
    """Many tied similarities (0/1 rows): the top-m is the stable sort's, self excluded."""
    rng = np.random.default_rng(m)
    x = sparse.csr_matrix((rng.random((30, 6)) < 0.3).astype(np.float32))
    idx, val, mean, std, _ = sparse_top_m(x, m, chunk=7)
    sims = (x @ x.T).toarray()
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_array_equal(idx, np.argsort(-sims, axis=1, kind="stable")[:, :m])
    np.testing.assert_allclose(val, np.take_along_axis(sims, idx, axis=1))


def test_pair_tfidf_transforms_new_documents_into_the_blogs_columns():
    from blogrec.text.matrices import PairTfidf

    docs = [["garbage", "collection", "in", "go"], ["garbage", "trucks"],
            ["go", "collection"], ["static", "analysis"]]
    model = PairTfidf()
    fitted = model.fit_transform(docs).toarray()
    # the blog's own documents land where fitting put them
    np.testing.assert_allclose(model.transform(docs).toarray(), fitted, rtol=1e-6)
    # a draft: its unknown word and the pairs through it are dropped, its known pair kept
    draft = model.transform([["garbage", "collection", "rocks"]]).toarray()[0]
    assert float(draft @ fitted[0]) > float(draft @ fitted[2]) > 0
