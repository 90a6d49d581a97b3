"""What a build is asked to do (`BuildConfig`) and what it returns."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..corpus import Corpus
from ..embeddings.encoders import DEFAULT_FIELDS
from ..features import Features
from ..related import DEFAULT_K, DEFAULT_METHOD


class BuildError(RuntimeError):
    """The build cannot produce output (no usable post, or --strict and a rejected file)."""


def default_cache_dir() -> str:
    """$BLOGREC_CACHE_DIR, else $XDG_CACHE_HOME/blogrec, else ~/.cache/blogrec."""
    if os.environ.get("BLOGREC_CACHE_DIR"):
        return os.environ["BLOGREC_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "blogrec")


@dataclass
class BuildConfig:
    posts_dir: str
    out_dir: str = "site_data"
    reports_dir: str = "reports"
    cache_dir: str | None = field(default_factory=default_cache_dir)
    encoder: str = "use-multilingual"
    tfhub_handle: str | None = None
    # "blogrec" (default) or any name in related.METHODS; "use" = USE on `fields` only.
    method: str = DEFAULT_METHOD
    fields: Sequence[str] = DEFAULT_FIELDS
    k: int = DEFAULT_K
    index: str = "auto"  # nearest-neighbour search: auto (by size), exact or approx
    tag_weight: float = 0.0  # > 0 blends the posts' own tags into related (production)
    diversity_slot: bool = False  # add "latest post of the same cluster" to related.json
    clusters: int = 10
    cluster_range: tuple[int, int] | None = None  # choose k in [lo, hi] by silhouette
    suggest: int = 5  # tag suggestions per post in tags.json
    evaluate: bool = True  # score the output in the report (a few seconds)
    export_vectors: bool = True  # int8 post vectors for the browser's "for you"
    strict: bool = False
    lock_timeout: float = 60.0  # seconds to wait for another build on the same output
    force: bool = False  # rebuild even when nothing changed since the last build


@dataclass
class BuildResult:
    corpus: Corpus | None  # None when the build was skipped (`up_to_date`)
    features: Features | None
    outputs: list[str]
    report: dict[str, Any]
    data: dict[str, Any]
    timings: dict[str, float]
    skipped: bool = False


@dataclass
class Related:
    idx: np.ndarray
    scores: np.ndarray
    method: str
