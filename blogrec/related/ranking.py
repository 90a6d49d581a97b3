"""`related_for`: any method's top-k, within groups (languages), translations left out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..embeddings.encoders import DEFAULT_FIELDS, TFHubEncoder
from ..features import Features
from ..methods import (
    DEFAULT_K,
    METHODS,
    RECIPE_FIELDS,
)
from ..work import in_order
from .default import CANDIDATES, blogrec_related
from .peers import _random_related, _sparse_related, _tag_overlap, top_k_from_vectors


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
