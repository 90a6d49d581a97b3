"""The build: one plan of steps (`plan`) over the models, run by the CLI and the Prefect
flow alike; its configuration (`config`), typed steps (`steps`), the lock and the
unchanged-blog skip (`runtime`, `state`) and its second thread (`threads`).

Names load on first use, so that `blogrec --help` and the up-to-date check of an
unchanged blog do not import the models.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "BuildConfig": "config", "BuildError": "config", "BuildResult": "config",
    "Related": "config", "default_cache_dir": "config",
    "output_lock": "runtime", "run_build": "runtime", "run_evaluation": "runtime",
    "Steps": "plan", "write_outputs": "plan",
    "build_demo": "commands", "search_blog": "commands",
    "compute_clusters": "steps", "compute_related": "steps", "compute_tags": "steps",
    "embed": "steps", "embed_posts": "steps", "make_features": "steps",
    "read_blog": "reading", "texts_to_encode": "steps",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
