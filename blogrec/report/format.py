"""Numbers and cells as the report shows them, shared by its HTML and Markdown."""

from __future__ import annotations

import math
import re
from typing import Any

NOT_COMPUTED = "not computed"


def fmt(x: Any, digits: int = 3) -> str:
    if isinstance(x, bool) or x is None:
        return "–" if x is None else str(x)
    if isinstance(x, float):
        return "–" if math.isnan(x) else f"{x:.{digits}f}"
    return str(x)


def _round(obj: Any) -> Any:
    """Floats rounded to 4 digits (-0.0 -> 0.0), recursively: stable JSON bytes."""
    if isinstance(obj, float):
        return float(round(obj, 4)) + 0.0 if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _round(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_round(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _round(obj.item())
    return obj


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: no line breaks, pipes or raw HTML."""
    text = " ".join(str("" if value is None else value).split())
    return re.sub(r"([\\`*|<>\[\]])", r"\\\1", text)


def _metric_columns(metrics: dict[str, dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for row in metrics.values():
        for name in row:
            if name not in cols:
                cols.append(name)
    return cols


def _metric_label(name: str) -> str:
    base, _, k = name.partition("@")
    pretty = {"map": "MAP", "p": "P", "precision": "P", "r": "R", "recall": "R",
              "ndcg": "nDCG", "hit": "Hit"}.get(base.lower(), base)
    return f"{pretty}@{k}" if k else pretty


def site_facts(corpus: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines on what the build detected: the site's generator and config,
    the taxonomy and the languages (the build report's `site`, `taxonomy`, `languages`)."""
    out: list[tuple[str, str]] = []
    site = corpus.get("site")
    if isinstance(site, dict):
        configs = ", ".join(site.get("config_files") or []) or "no config file"
        out.append(("Site", f"{site.get('generator')} ({configs}); posts in "
                            f"{', '.join(site.get('posts_dirs') or []) or '-'}"))
        if site.get("base_url"):
            out.append(("Base URL", str(site["base_url"])))
        for warning in site.get("warnings") or []:
            out.append(("Site config warning", str(warning)))
    if corpus.get("taxonomy"):
        out.append(("Tags read from", ", ".join(corpus["taxonomy"])))
    if corpus.get("languages"):
        out.append(("Languages", ", ".join(f"{lang} ({n} posts)" for lang, n
                                            in corpus["languages"].items())))
    return out
