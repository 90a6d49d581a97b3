"""The library calls behind `blogrec search` and `blogrec demo`: read the blog, build or
embed it, then search it or make the demo site."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..embeddings.encoders import DEFAULT_FIELDS
from ..search import DEFAULT_SEARCH_K, search_posts
from ..site import build_demo_site
from .config import BuildConfig
from .reading import read_blog
from .runtime import run_build
from .steps import make_features

log = logging.getLogger(__name__)

def search_blog(
    posts_dir: str,
    query: str,
    k: int = DEFAULT_SEARCH_K,
    cache_dir: str | None = None,
    encoder: str = "use-multilingual",
    tfhub_handle: str | None = None,
    fields: Sequence[str] = DEFAULT_FIELDS,
) -> list[dict[str, Any]]:
    """Read the blog at posts_dir and search it (the post embeddings come from the
    build's cache when it has them; the cache is only read, never rewritten, so a
    search cannot evict what a build stored). What `blogrec search` calls."""
    config = BuildConfig(posts_dir=posts_dir, encoder=encoder, tfhub_handle=tfhub_handle,
                         fields=tuple(fields))
    if cache_dir is not None:
        config.cache_dir = cache_dir
    corpus = read_blog(config)
    features = make_features(corpus, config)
    return search_posts(features, query, k, fields=fields)


def build_demo(posts_dir: str, out_dir: str, cache_dir: str | None = None,
               encoder: str = "use-multilingual", tfhub_handle: str | None = None,
               site_data_dir: str | None = None) -> Path:
    """`blogrec demo`: build the blog (related.json, clusters.json when the build or
    blogrec.clusters provides it) into site_data_dir (default: a temporary directory),
    then the demo site into out_dir. Returns the path of index.html."""
    tmp = None
    if site_data_dir is None:
        tmp = tempfile.mkdtemp(prefix="blogrec-demo-")
        site_data_dir = tmp
    try:
        config = BuildConfig(posts_dir=posts_dir, out_dir=site_data_dir,
                             reports_dir=str(Path(site_data_dir) / "reports"),
                             encoder=encoder, tfhub_handle=tfhub_handle)
        if cache_dir is not None:
            config.cache_dir = cache_dir
        result = run_build(config)
        if result.skipped:  # nothing changed since the last demo build: read it again
            corpus = read_blog(config)
            features = make_features(corpus, config)
        else:
            corpus, features = result.corpus, result.features  # type: ignore[assignment]
        posts = corpus.posts
        vectors = features.use(config.fields)
        model = features.encoder.model_id if features.encoder else None
        return build_demo_site(site_data_dir, posts, out_dir, vectors=vectors, model=model)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
