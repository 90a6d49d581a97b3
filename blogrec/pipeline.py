"""The build, as plain functions: load -> features -> related -> export.

The CLI and the Prefect flow both call these; neither holds logic of its own.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .corpus import Corpus, load_corpus
from .encoders import DEFAULT_FIELDS, Progress, get_encoder
from .export import atomic_write_json, related_payload
from .features import Features
from .related import DEFAULT_K, top_k_from_vectors

log = logging.getLogger(__name__)

BUILD_REPORT = "build-report.json"
RELATED_JSON = "related.json"


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
    fields: Sequence[str] = DEFAULT_FIELDS
    k: int = DEFAULT_K
    strict: bool = False
    lock_timeout: float = 60.0  # seconds to wait for another build on the same output


@dataclass
class BuildResult:
    corpus: Corpus
    features: Features
    outputs: list[str]
    report: dict[str, Any]
    timings: dict[str, float]


def read_blog(config: BuildConfig) -> Corpus:
    """Load the posts and apply the failure policy: raise only if nothing usable is left,
    or if --strict and any file was rejected."""
    corpus = load_corpus(config.posts_dir)
    log.info(
        "read %d posts from %s (%d rejected, %d drafts skipped)",
        len(corpus.posts), config.posts_dir, len(corpus.rejected), len(corpus.skipped),
    )
    if not corpus.posts:
        raise BuildError(
            f"no usable post in {config.posts_dir} "
            f"({len(corpus.rejected)} file(s) rejected; see the build report)"
        )
    if config.strict and corpus.rejected:
        first = corpus.rejected[0]
        raise BuildError(
            f"--strict: {len(corpus.rejected)} file(s) rejected, "
            f"first {first.path}: {first.reason}"
        )
    return corpus


def make_features(
    corpus: Corpus, config: BuildConfig, progress: Progress | None = None
) -> Features:
    encoder = get_encoder(config.encoder, config.tfhub_handle)
    return Features(corpus.posts, encoder, config.cache_dir, progress=progress)


def compute_related(features: Features, config: BuildConfig) -> tuple[Any, Any, str]:
    """Top-k related posts of every post; returns (indices, scores, method name)."""
    vectors = features.use(config.fields)
    idx, scores = top_k_from_vectors(vectors, config.k)
    return idx, scores, "use:" + "+".join(config.fields)


def build_report(corpus: Corpus, features: Features, method: str) -> dict[str, Any]:
    """What the build read and rejected; deterministic (no timings, no dates)."""
    def notes(items: list[Any]) -> list[dict[str, str]]:
        return [{"path": n.path, "reason": n.reason} for n in items]

    return {
        "posts_dir": str(corpus.root),
        "posts": len(corpus.posts),
        "posts_with_tags": sum(1 for p in corpus.posts if p.tags),
        "tags": len({t for p in corpus.posts for t in p.tags}),
        "rejected": notes(corpus.rejected),
        "skipped": notes(corpus.skipped),
        "warnings": notes(corpus.warnings),
        "method": method,
        "model": features.encoder.model_id if features.encoder else None,
    }


def write_related(
    corpus: Corpus, features: Features, idx: Any, scores: Any, method: str, out_dir: str
) -> str:
    model = features.encoder.model_id if features.encoder else "none"
    payload = related_payload(corpus.posts, idx, scores, method=method, model_id=model)
    path = str(Path(out_dir) / RELATED_JSON)
    atomic_write_json(path, payload)
    return path


LOCK_NAME = ".blogrec.lock"


@contextmanager
def output_lock(config: BuildConfig) -> Iterator[None]:
    """One build at a time per output directory: a second one waits, then refuses.

    Without it two scheduled runs could interleave their renames and leave a
    related.json from one run beside a report from the other.
    """
    from filelock import FileLock, Timeout

    Path(config.out_dir).mkdir(parents=True, exist_ok=True)
    path = Path(config.out_dir) / LOCK_NAME
    lock = FileLock(str(path), timeout=config.lock_timeout)
    try:
        lock.acquire()
    except Timeout:
        raise BuildError(
            f"another blogrec build is writing to {config.out_dir} (lock {path} held for "
            f"more than {config.lock_timeout:g}s); try again when it has finished"
        ) from None
    try:
        yield
    finally:
        lock.release()


def run_build(config: BuildConfig, progress: Progress | None = None) -> BuildResult:
    """The whole build, under the output lock. Output files are replaced atomically,
    only after all of them have been computed, so a failure anywhere leaves the previous
    output as it was."""
    with output_lock(config):
        return _run_build(config, progress)


def _run_build(config: BuildConfig, progress: Progress | None) -> BuildResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    corpus = read_blog(config)
    timings["parse"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    features = make_features(corpus, config, progress)
    features.use(config.fields)
    features.save_cache()
    timings["embed"] = time.perf_counter() - t0
    log.info("embedded %d posts (%d new, %d from cache)", len(corpus.posts),
             features.encoded, len(corpus.posts) - min(features.encoded, len(corpus.posts)))

    t0 = time.perf_counter()
    idx, scores, method = compute_related(features, config)
    timings["related"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = build_report(corpus, features, method)
    outputs = [write_related(corpus, features, idx, scores, method, config.out_dir)]
    report_path = str(Path(config.reports_dir) / BUILD_REPORT)
    atomic_write_json(report_path, report)
    outputs.append(report_path)
    timings["export"] = time.perf_counter() - t0
    return BuildResult(corpus, features, outputs, report, timings)
