"""Semantic search over a blog: the sentence encoder on the query, cosine to the posts.

The encoder is multilingual, so a query in one of its languages finds posts written in
another (a Japanese query finds an English post on the same topic, and the reverse).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .embeddings.encoders import DEFAULT_FIELDS
from .features import Features
from .outputs import post_ref
from .vectors import normalize_rows

DEFAULT_SEARCH_K = 10


def rank_by_cosine(query_vector: np.ndarray, vectors: np.ndarray, k: int) -> list[int]:
    """Indices of the k rows of `vectors` most similar to `query_vector`, best first;
    equal scores keep the lower index first. NaN scores count as 0."""
    if k <= 0 or len(vectors) == 0:
        return []
    scores = np.nan_to_num(vectors @ query_vector, nan=0.0)
    order = np.lexsort((np.arange(len(scores)), -scores))
    return [int(i) for i in order[:k]]


def search_posts(
    features: Features,
    query: str,
    k: int = DEFAULT_SEARCH_K,
    fields: Sequence[str] = DEFAULT_FIELDS,
) -> list[dict[str, Any]]:
    """The k posts whose meaning is closest to `query`, best first.

    Each result is the post's reference (slug, title, date, url when set, path, score
    rounded to 4 digits), plus its rank (1-based) and tags. Ties keep the posts' order.
    A blank query (or k <= 0) returns no result. The query is encoded directly, not
    through the embedding cache, so searching never changes the cache.
    """
    if k <= 0 or not query or not query.strip() or not features.posts:
        return []
    if features.encoder is None:
        raise RuntimeError("search needs a sentence encoder")
    vectors = features.use(fields)
    q = normalize_rows(features.encoder.encode([query.strip()]))[0]
    q = np.nan_to_num(q, nan=0.0)
    scores = np.nan_to_num(vectors @ q, nan=0.0)
    results = []
    for rank, i in enumerate(rank_by_cosine(q, vectors, k), start=1):
        post = features.posts[i]
        ref = post_ref(post, float(scores[i]))
        results.append({"rank": rank, **ref, "tags": list(post.tags)})
    return results


def format_results(results: Sequence[dict[str, Any]]) -> str:
    """Plain-text listing for the terminal: rank, score, date, slug, title."""
    if not results:
        return "no result"
    lines = []
    for r in results:
        lines.append(f"{r['rank']:>3}  {r['score']:.4f}  {r.get('date') or '':<10}  "
                     f"{r['slug']}  {r['title']}")
    return "\n".join(lines)
