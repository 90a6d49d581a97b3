"""The evaluation report a blog owner opens: reports/index.html, report.md, report.json.

`write_report(reports_dir, data, timings)` writes

- index.html   one self-contained page (inline CSS and SVG, no script, no external fetch;
               opens offline from disk), including the run's timings;
- report.md    the same tables in Markdown, for diffs;
- report.json  `data` itself (floats rounded to 4 digits, the dendrogram SVG left out);
- timings.json the timings.

report.md and report.json depend on `data` only: identical data gives identical bytes.
Timings (non-deterministic) appear only in index.html and timings.json.

The `data` schema. Every section is optional; a missing one renders as "not computed".

    {
      "blog": str,                       # a name for the heading (e.g. the posts dir)
      "corpus": {                        # build.steps.build_report() fits as is
        "posts_dir": str, "posts": int, "posts_with_tags": int, "tags": int,
        "rejected": [{"path": str, "reason": str}],
        "skipped":  [{"path": str, "reason": str}],
        "warnings": [{"path": str, "reason": str}],
        "top_tags": [{"tag": str, "count": int}],      # optional, most used first
        "method": str, "model": str                     # optional
      },
      "related": {                       # related-posts evaluation
        "k": int,                        # related posts per post (4 in the study)
        "default": str,                  # optional: the method the build publishes
        "rows": [{"method": str, "score": float, "note": str}]
      },
      "tags": {                          # tag-suggestion evaluation
        "metrics": {method: {metric@k: float}},   # e.g. {"mean-vector": {"map@5": 0.24}}
        "counts": {name: int},           # e.g. {"train posts": 620, "test posts": 125}
        "default": str,                  # optional
        "notes": {method: str}           # optional
      },
      "clusters": {...},                 # outputs.clusters_payload()
      "dendrogram_svg": str,             # figures.dendrogram_svg()
      "map": {"method": str,             # figures.map_points()
              "points": [{"slug": str, "title": str, "cluster": int,
                          "x": float, "y": float}]}  # x, y in [0, 1]
    }

figures.report_section(result, posts, vectors) returns the last three keys.

`timings`: {"steps": {step: seconds}, "methods": {method: seconds},
"generated_at": ISO string}; plain {step: seconds} entries at the top level are
read as steps too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..store import OutputBatch, dumps
from .artifacts import artifact_tables, publish_prefect_artifacts
from .format import NOT_COMPUTED, _round, fmt, md_cell
from .html import SECTIONS, esc, map_svg, render_html, split_timings
from .markdown import render_markdown

INDEX_HTML = "index.html"


REPORT_MD = "report.md"


REPORT_JSON = "report.json"


TIMINGS_JSON = "timings.json"


def report_json(data: dict[str, Any]) -> dict[str, Any]:
    """What report.json holds: `data` without the SVG markup, floats rounded."""
    return _round({k: v for k, v in data.items() if k != "dendrogram_svg"})


def report_files(data: dict[str, Any], timings: dict[str, Any] | None = None
                 ) -> dict[str, bytes]:
    """The report's files by name: report.json, report.md, timings.json, index.html."""
    return {
        REPORT_JSON: dumps(report_json(data)),
        REPORT_MD: render_markdown(data).encode(),
        TIMINGS_JSON: dumps(_round(timings or {})),
        INDEX_HTML: render_html(data, timings).encode(),
    }


def write_report(reports_dir: str | os.PathLike[str], data: dict[str, Any],
                 timings: dict[str, Any] | None = None) -> list[str]:
    """Write index.html, report.md, report.json and timings.json; returns their paths."""
    with OutputBatch() as batch:
        for name, blob in report_files(data, timings).items():
            batch.add(Path(reports_dir) / name, blob)
        return batch.commit()


__all__ = [
    "INDEX_HTML", "NOT_COMPUTED", "REPORT_JSON", "REPORT_MD", "SECTIONS", "TIMINGS_JSON",
    "artifact_tables", "esc", "fmt", "map_svg", "md_cell", "publish_prefect_artifacts",
    "render_html", "render_markdown", "report_files", "report_json", "split_timings",
    "write_report",
]
