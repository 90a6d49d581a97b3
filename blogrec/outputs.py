"""What blogrec writes for the site: file names, schemas and the JSON documents.

Each document is built from plain results (posts, neighbour arrays, cluster results)
and is deterministic: keys in a fixed order, floats rounded (`store.round_score`), so
the same input gives the same bytes. Writing them is `store.OutputBatch`'s job.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .corpus import Post
from .store import atomic_write_bytes, atomic_write_json, dumps, round_score
from .urls import safe_url

if TYPE_CHECKING:  # only in annotations: the file names import no model
    from .clusters import ClusterResult
    from .tagging import TagSuggestions

# The files of a build: site data in --out, the build report in --reports.
RELATED_JSON = "related.json"
TAGS_JSON = "tags.json"
CLUSTERS_JSON = "clusters.json"
VECTORS_JSON = "vectors.json"
BUILD_REPORT = "build-report.json"

RELATED_SCHEMA = "blogrec/related"


RELATED_VERSION = 1


def post_ref(post: Any, score: float | None = None) -> dict[str, Any]:
    """The fields a template needs to link to a post."""
    ref: dict[str, Any] = {"slug": post.slug, "title": post.title, "date": post.date}
    # `load_corpus` already dropped unsafe URLs with a warning; this guards posts made
    # in code. Without `url` the templates link to the post's own page.
    url = safe_url(post.url) if post.url else None
    if url:
        ref["url"] = url
    ref["path"] = post.path
    if score is not None:
        ref["score"] = round_score(score)
    return ref


def related_payload(
    posts: Sequence[Any],
    neighbours: np.ndarray,
    scores: np.ndarray,
    method: str,
    model_id: str,
    extra: dict[int, dict[str, Any]] | None = None,
    page_paths: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The related.json document (schema version 1), keyed by post slug.

    page_paths (a build of a site root: each post's path as the generator's templates
    see it, `sites.Site.page_path`): the document also has `paths`, {page path: key},
    by language on a multilingual blog ({lang: {page path: key}}): the lookup a template
    that knows its page's file finds its entry by exactly, whatever slugs the posts share.

    On a blog with more than one language (some post has a `lang`), each entry and each
    related post also has its `lang`, each entry its `translations` (the other language
    versions of the post, by language), and the document a `languages` lookup: language
    -> the slug a page of that language has -> its key in `posts` (see `page_keys`).
    """
    multilingual = any(getattr(p, "lang", None) for p in posts)

    def ref(post: Any, score: float | None = None) -> dict[str, Any]:
        out = post_ref(post, score)
        if multilingual:
            out["lang"] = post.lang
        return out

    versions: dict[str, list[Any]] = {}
    if multilingual:
        for post in posts:
            if getattr(post, "translation_key", None) is not None:
                versions.setdefault(post.translation_key, []).append(post)
    entries: dict[str, Any] = {}
    for i, post in enumerate(posts):
        related = [
            ref(posts[j], s) for j, s in zip(neighbours[i], scores[i], strict=True) if j >= 0
        ]
        entry = ref(post)
        entry["tags"] = list(post.tags)
        entry["related"] = related
        if multilingual:
            others = [p for p in versions.get(getattr(post, "translation_key", None), ())
                      if p is not post]
            entry["translations"] = [ref(p) for p in
                                     sorted(others, key=lambda p: (p.lang or "", p.slug))]
        if extra and i in extra:
            entry.update(extra[i])
        entries[post.slug] = entry
    doc: dict[str, Any] = {
        "schema": RELATED_SCHEMA,
        "version": RELATED_VERSION,
        "generator": "blogrec",
        "method": method,
        "model": model_id,
        "count": len(entries),
    }
    if multilingual:
        doc["languages"] = page_keys(posts)
    if page_paths is not None:
        doc["paths"] = path_keys(posts, page_paths, multilingual)
    doc["posts"] = dict(sorted(entries.items()))
    return doc


def path_keys(posts: Sequence[Any], page_paths: Sequence[str], by_language: bool
              ) -> dict[str, Any]:
    """{page path: key}, or {lang: {page path: key}} (`related_payload`)."""
    if not by_language:
        return dict(sorted(zip(page_paths, (p.slug for p in posts), strict=True)))
    out: dict[str, dict[str, str]] = {}
    for post, path in zip(posts, page_paths, strict=True):
        out.setdefault(post.lang or "", {})[path] = post.slug
    return {lang: dict(sorted(paths.items())) for lang, paths in sorted(out.items())}


def page_keys(posts: Sequence[Any]) -> dict[str, dict[str, str]]:
    """{language: {page slug: key in related.json's posts}}: how a template that knows a
    page's language and slug (front-matter slug, else the file name without its language
    suffix and date prefix) finds its entry, e.g. `index .languages .Lang $slug` in Hugo.
    A slug two posts of one language share (served at different URLs) is left out: it
    cannot tell them apart. Posts without a language are not listed."""
    found: dict[str, dict[str, list[str]]] = {}
    for post in posts:
        if getattr(post, "lang", None):
            page = getattr(post, "page_slug", None) or post.slug
            found.setdefault(post.lang, {}).setdefault(page, []).append(post.slug)
    return {lang: {page: keys[0] for page, keys in sorted(pages.items()) if len(keys) == 1}
            for lang, pages in sorted(found.items())}


# ---------------------------------------------------------------- tags.json

TAGS_SCHEMA = "blogrec/tags"
TAGS_VERSION = 1


def tags_payload(result: TagSuggestions, posts: Sequence[Post]) -> dict[str, Any]:
    """site_data/tags.json: for each post (by slug) its tags and its suggested missing
    tags with scores (`tagging.tag_suggestions`), the blog's tags with their post
    counts, and the probable duplicate tags; a blog without tags gets a `note`."""
    vocab = result.vocab
    doc: dict[str, Any] = {"schema": TAGS_SCHEMA, "version": TAGS_VERSION,
                           "method": result.method}
    if result.note is not None:
        doc["note"] = result.note
    else:
        doc["cross_fitting"] = f"{result.folds}-fold"
    doc["tags"] = [{"tag": d, "posts": int(c)} for d, c in zip(vocab.display, vocab.counts,
                                                               strict=True)]
    doc["posts"] = {
        p.slug: {"tags": list(p.tags),
                 "suggested": [{"tag": vocab.display[j], "score": round(s, 4)}
                               for j, s in result.suggestions[i] if s > 0]}
        for i, p in enumerate(posts)
    }
    doc["duplicates"] = result.duplicates
    return doc


# ---------------------------------------------------------------- clusters.json

CLUSTERS_SCHEMA = "blogrec/clusters"


CLUSTERS_VERSION = 1


def cluster_ref(post: Post, score: float | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"slug": post.slug, "title": post.title, "date": post.date}
    if score is not None:
        ref["score"] = round_score(score)
    return ref


def clusters_payload(result: ClusterResult, posts: Sequence[Post]) -> dict[str, Any]:
    """site_data/clusters.json: deterministic (floats rounded to 4 digits)."""
    return {
        "schema": CLUSTERS_SCHEMA,
        "version": CLUSTERS_VERSION,
        "generator": "blogrec",
        "method": "spherical k-means (faiss), cosine",
        "k": result.k,
        "k_requested": result.k_requested,
        "k_choice": (
            {"criterion": result.k_criterion,
             "scores": {str(k): round_score(s) for k, s in sorted(result.k_scores.items())}}
            if result.k_scores else None
        ),
        "seed": result.seed,
        "name_source": result.name_source,
        "clusters": [
            {
                "id": c.id,
                "name": c.name,
                "name_tags": list(c.name_tags),
                "size": c.size,
                "members": [posts[i].slug for i in c.members],
                "representatives": [cluster_ref(posts[i], s) for i, s in c.representatives],
                "newest": cluster_ref(posts[c.newest]) if c.newest is not None else None,
            }
            for c in result.clusters
        ],
        "dendrogram": {
            "method": "Ward on unit centroids (Euclidean = sqrt(2 - 2 cos)), "
                      "optimal leaf ordering",
            "leaf_id": "linkage leaf i is cluster id i + 1; node k + j is row j",
            "linkage": [
                [int(a), int(b), round_score(d), int(cnt)] for a, b, d, cnt in result.linkage
            ],
            "leaf_order": [i + 1 for i in result.leaf_order],
        },
        "quality": result.quality,
    }


def write_clusters(out_dir: str | os.PathLike[str], result: ClusterResult,
                   posts: Sequence[Post]) -> str:
    path = str(Path(out_dir) / CLUSTERS_JSON)
    atomic_write_json(path, clusters_payload(result, posts))
    return path


# ---------------------------------------------------------------- vectors.json

VECTORS_SCHEMA = "blogrec/vectors"


VECTORS_VERSION = 1


QMAX = 127


SCALE_DIGITS = 6  # significant digits of the stored per-vector scale


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row symmetric int8 quantisation: x ~= scale * q, q in [-127, 127].

    The scale is rounded to 6 significant digits before q is computed, so the stored
    scale is exactly the one used (and the bytes do not depend on float printing).
    """
    x = np.nan_to_num(np.asarray(vectors, dtype=np.float64))
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {x.shape}")
    peak = np.abs(x).max(axis=1) if x.shape[1] else np.zeros(len(x))
    scales = np.array([float(f"{p / QMAX:.{SCALE_DIGITS}g}") for p in peak])
    safe = np.where(scales > 0, scales, 1.0)[:, None]
    q = np.clip(np.rint(x / safe), -QMAX, QMAX).astype(np.int8)
    q[scales == 0] = 0
    return q, scales


def dequantize(q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return (q.astype(np.float32) * np.asarray(scales, dtype=np.float32)[:, None]).astype(
        np.float32
    )


def vectors_payload(posts: Sequence[Post], vectors: np.ndarray,
                    model: str | None = None) -> dict[str, Any]:
    """The vectors.json document: one entry per post, in the posts' order."""
    x = np.asarray(vectors)
    if len(x) != len(posts):
        raise ValueError(f"need one vector per post (got {len(x)} for {len(posts)} posts)")
    q, scales = quantize(x)
    entries = []
    for post, row, scale in zip(posts, q, scales, strict=True):
        entry = post_ref(post)
        entry["tags"] = list(post.tags)
        entry["scale"] = float(scale)
        entry["vector"] = base64.b64encode(row.astype("<i1").tobytes()).decode("ascii")
        entries.append(entry)
    return {
        "schema": VECTORS_SCHEMA,
        "version": VECTORS_VERSION,
        "generator": "blogrec",
        "model": model,
        "dim": int(x.shape[1]) if x.ndim == 2 else 0,
        "dtype": "int8",
        "encoding": "base64",
        "quantization": "per-vector: x ~= scale * q, q in [-127, 127]",
        "count": len(entries),
        "posts": entries,
    }


def export_post_vectors(posts: Sequence[Post], vectors: np.ndarray,
                        path: str | os.PathLike[str], model: str | None = None) -> Path:
    """Write site_data/vectors.json (atomic, same input -> same bytes); returns the path.

    Size: 512 int8 = 512 bytes per post, 684 characters of base64, plus the post's
    reference (slug, title, date, path, tags, scale): about 1 KB per post on the sample.
    """
    path = Path(path)
    atomic_write_bytes(path, dumps(vectors_payload(posts, vectors, model)))
    return path


def load_post_vectors(path: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """Read vectors.json back: (slugs, dequantised float32 rows, not renormalised)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    dim = int(data["dim"])
    slugs, rows, scales = [], [], []
    for entry in data["posts"]:
        raw = base64.b64decode(entry["vector"])
        if len(raw) != dim:
            raise ValueError(f"{entry.get('slug')!r}: {len(raw)} bytes, expected {dim}")
        slugs.append(entry["slug"])
        rows.append(np.frombuffer(raw, dtype="<i1"))
        scales.append(float(entry["scale"]))
    if not rows:
        return slugs, np.zeros((0, dim), dtype=np.float32)
    return slugs, dequantize(np.stack(rows), np.array(scales))
