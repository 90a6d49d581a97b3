"""The report's tables as Prefect artifacts of a flow run."""

from __future__ import annotations

from typing import Any

from .format import _round
from .markdown import render_markdown

ARTIFACT_KEYS = {
    "report": "blogrec-report",
    "related": "blogrec-related-eval",
    "tags": "blogrec-tag-eval",
    "clusters": "blogrec-clusters",
}


def artifact_tables(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The table artifacts' rows, keyed by artifact key (sections that exist only)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    r = data.get("related") or {}
    if r.get("rows"):
        tables[ARTIFACT_KEYS["related"]] = [
            {"method": x.get("method"), "score": _round(x.get("score")),
             "note": x.get("note", "")} for x in r["rows"]]
    t = data.get("tags") or {}
    if t.get("metrics"):
        tables[ARTIFACT_KEYS["tags"]] = [
            {"method": m, **{k: _round(v) for k, v in vals.items()}}
            for m, vals in t["metrics"].items()]
    cl = data.get("clusters") or {}
    if cl.get("clusters"):
        tables[ARTIFACT_KEYS["clusters"]] = [
            {"id": x.get("id"), "name": x.get("name"), "size": x.get("size"),
             "newest": (x.get("newest") or {}).get("title", "")} for x in cl["clusters"]]
    return tables


def publish_prefect_artifacts(data: dict[str, Any]) -> list[str]:
    """Publish the report as Prefect artifacts (call inside a flow run); returns the keys."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(markdown=render_markdown(data), key=ARTIFACT_KEYS["report"],
                             description="blogrec report: corpus, evaluations, clusters")
    keys = [ARTIFACT_KEYS["report"]]
    descriptions = {
        ARTIFACT_KEYS["related"]: "Related posts: tag Dice score of the top related posts",
        ARTIFACT_KEYS["tags"]: "Tag suggestions on held-out newest posts",
        ARTIFACT_KEYS["clusters"]: "Topic clusters: names and sizes",
    }
    for key, rows in artifact_tables(data).items():
        create_table_artifact(table=rows, key=key, description=descriptions[key])
        keys.append(key)
    return keys
