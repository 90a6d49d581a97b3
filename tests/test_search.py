"""Semantic search: the encoder on the query, cosine to the posts, across languages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from blogrec.build import search_blog
from blogrec.corpus import Post, load_corpus
from blogrec.features import Features
from blogrec.search import format_results, rank_by_cosine, search_posts

from .conftest import SAMPLE_BLOG

CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# (query, post that must be found, worst acceptable rank). Each query is in the other
# language than the post's title: Japanese queries for English posts and the reverse.
CROSS_LANGUAGE = [
    ("パスワードの安全な保存方法", "storing-passwords-bcrypt-argon2", 1),
    ("コンテナが再起動を繰り返す", "debugging-crashloopbackoff", 1),
    ("Kubernetes のリソース要求と制限", "kubernetes-requests-and-limits", 1),
    ("リモートチームで非同期に書き残す", "async-first-remote-team", 1),
    ("PostgreSQL の実行計画を読む", "reading-explain-analyze-postgresql", 2),
    ("Rust の借用チェッカー", "rust-borrow-checker-clicked", 2),
    ("Rust のエラー処理", "rust-error-handling-thiserror-anyhow", 3),
    ("Kubernetes liveness and readiness probes", "kubernetes-liveness-readiness-probes", 2),
    ("shrinking container images with multi-stage builds", "docker-multi-stage-build", 1),
    ("CSS Grid auto-fill versus auto-fit", "css-grid-auto-fill-vs-auto-fit", 1),
    ("Go context timeouts", "go-context-timeout", 1),
    ("full-text search with SQLite", "sqlite-fts5-full-text-search", 1),
    ("how to speed up pandas memory", "pandas-dtype-memory", 1),
    ("partial index in PostgreSQL", "postgresql-partial-index", 2),
]


@pytest.fixture(scope="module")
def features(encoder):
    return Features(load_corpus(str(SAMPLE_BLOG)).posts, encoder, cache_dir=None)


@pytest.mark.parametrize(("query", "slug", "worst"), CROSS_LANGUAGE,
                         ids=[s for _, s, _ in CROSS_LANGUAGE])
def test_a_query_finds_the_post_in_the_other_language(features, query, slug, worst):
    post = next(p for p in features.posts if p.slug == slug)
    assert bool(CJK.search(query)) != bool(CJK.search(post.title)), "not cross-language"
    results = search_posts(features, query, k=worst)
    assert slug in [r["slug"] for r in results], format_results(results)


def test_both_directions_are_covered():
    ja = [q for q, _, _ in CROSS_LANGUAGE if CJK.search(q)]
    assert len(ja) >= 5 and len(CROSS_LANGUAGE) - len(ja) >= 5


def test_results_shape_order_and_k(features):
    results = search_posts(features, "PostgreSQL インデックス", k=10)
    assert len(results) == 10 and [r["rank"] for r in results] == list(range(1, 11))
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True) and all(math.isfinite(s) for s in scores)
    assert len({r["slug"] for r in results}) == 10
    first = results[0]
    assert set(first) >= {"rank", "slug", "title", "date", "path", "score", "tags"}
    assert first["slug"] == "postgresql-partial-index"
    assert len(search_posts(features, "PostgreSQL", k=3)) == 3
    assert len(search_posts(features, "PostgreSQL", k=1)) == 1
    assert len(search_posts(features, "PostgreSQL", k=10_000)) == len(features.posts)
    assert search_posts(features, "PostgreSQL", k=0) == []
    assert search_posts(features, "PostgreSQL", k=-5) == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_blank_query_returns_nothing_and_no_nan(features, query):
    assert search_posts(features, query) == []


@pytest.mark.parametrize("query", ["?", "!!!", "😀", "a"])
def test_odd_queries_give_finite_scores(features, query):
    results = search_posts(features, query, k=5)
    assert len(results) == 5 and all(math.isfinite(r["score"]) for r in results)


class ConstantEncoder:
    """Every text maps to the same vector (or zeros): all scores tie."""

    model_id = "constant"

    def __init__(self, zero: bool = False) -> None:
        self.zero = zero

    def encode(self, texts):
        v = np.zeros((len(texts), 4), dtype=np.float32)
        if not self.zero:
            v[:, 0] = 1.0
        return v


@pytest.mark.parametrize("zero", [False, True])
def test_ties_keep_the_posts_order(zero):
    posts = [Post(path=f"{c}.md", slug=c, title=c.upper(), date=None) for c in "dbca"]
    f = Features(posts, ConstantEncoder(zero), cache_dir=None)
    results = search_posts(f, "anything", k=3)
    assert [r["slug"] for r in results] == ["d", "b", "c"]
    assert all(math.isfinite(r["score"]) for r in results)


def test_rank_by_cosine_handles_nan_and_empty():
    vecs = np.array([[np.nan, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert rank_by_cosine(np.array([1.0, 0.0], dtype=np.float32), vecs, 5) == [1, 0, 2]
    assert rank_by_cosine(np.array([1.0, 0.0]), np.zeros((0, 2)), 3) == []


def test_search_posts_without_encoder_fails_clearly():
    f = Features([Post(path="a.md", slug="a", title="A", date=None)], None)
    with pytest.raises(RuntimeError, match="encoder"):
        search_posts(f, "query")


def test_search_blog_reads_the_directory(tmp_path):
    results = search_blog(str(SAMPLE_BLOG), "Go context timeouts", k=2,
                          cache_dir=str(tmp_path / "cache"))
    assert len(results) == 2 and results[0]["slug"] == "go-context-timeout"
    text = format_results(results)
    assert "go-context-timeout" in text and text.splitlines()[0].lstrip().startswith("1")
    assert format_results([]) == "no result"
