"""report.md: the report's tables in Markdown, for diffs (deterministic: `data` only)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .format import (
    NOT_COMPUTED,
    _metric_columns,
    _metric_label,
    fmt,
    md_cell,
    site_facts,
)


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(md_cell(h) for h in headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(data: dict[str, Any]) -> str:
    """The report's tables in Markdown (deterministic: `data` only, no timings)."""
    blog = data.get("blog") or (data.get("corpus") or {}).get("posts_dir") or "your blog"
    out = [f"# blogrec report: {md_cell(blog)}", ""]
    c = data.get("corpus")
    out += ["## The blog", ""]
    if c:
        out += [f"- posts: {c.get('posts', '–')}",
                f"- posts with tags: {c.get('posts_with_tags', '–')}",
                f"- distinct tags: {c.get('tags', '–')}",
                f"- rejected files: {len(c.get('rejected') or [])}",
                f"- drafts skipped: {len(c.get('skipped') or [])}"]
        if c.get("not_posts"):
            out.append(f"- not posts (list pages, headless bundles): {len(c['not_posts'])}")
        out += [f"- {label.lower()}: {md_cell(value)}" for label, value in site_facts(c)]
        out.append("")
        if c.get("rejected"):
            out += _md_table(["file", "reason"],
                             [(n.get("path"), n.get("reason")) for n in c["rejected"]]) + [""]
    else:
        out += [NOT_COMPUTED, ""]
    r = data.get("related")
    out += ["## Related posts", ""]
    if r and r.get("rows"):
        k = r.get("k", 4)
        links = r.get("links")
        if links:
            out += [f"The links between posts ({links['links_resolved']} resolved, "
                    f"{links['links_unresolved']} unresolved; {links['posts_scored']} posts "
                    f"scored) were hidden from every method.", ""]
        link_cols = [f"hit@{k}", f"recall@{k}"] if links else []
        score = f"tag Dice (top {k})" if links else f"score (top {k})"
        out += _md_table(["method", score, *link_cols, "note"],
                         [(x.get("method"), fmt(x.get("score")),
                           *(fmt(x.get(c)) for c in link_cols), x.get("note", ""))
                          for x in r["rows"]]) + [""]
    else:
        out += [NOT_COMPUTED, ""]
    t = data.get("tags")
    out += ["## Tag suggestions", ""]
    if t and t.get("metrics"):
        cols = _metric_columns(t["metrics"])
        if t.get("counts"):
            out += [", ".join(f"{md_cell(k)}: {md_cell(v)}" for k, v in t["counts"].items()), ""]
        out += _md_table(["method"] + [_metric_label(x) for x in cols],
                         [[m] + [fmt(v.get(x)) for x in cols]
                          for m, v in t["metrics"].items()]) + [""]
    else:
        out += [NOT_COMPUTED, ""]
    cl = data.get("clusters")
    out += ["## Topic clusters", ""]
    if cl and cl.get("clusters"):
        out += [f"k = {cl.get('k')}", ""]
        out += _md_table(
            ["#", "name", "posts", "closest to the centre", "newest post"],
            [(x.get("id"), x.get("name"), x.get("size"),
              "; ".join(p.get("title", "") for p in x.get("representatives", [])),
              (x.get("newest") or {}).get("title", "–")) for x in cl["clusters"]]) + [""]
        q = cl.get("quality") or {}
        if q.get("nmi") is not None:
            out += ["### Cluster quality (NMI with each post's most frequent tag)", ""]
            out += _md_table(["clustering", "NMI"], [
                ("spherical k-means", fmt(q.get("nmi"))),
                ("plain k-means", fmt(q.get("plain_kmeans_nmi"))),
                ("random, same sizes", fmt(q.get("random_nmi"))),
            ]) + [""]
        dend = cl.get("dendrogram") or {}
        if dend.get("leaf_order"):
            out += ["Dendrogram leaf order: " + ", ".join(str(i) for i in dend["leaf_order"]),
                    ""]
    else:
        out += [NOT_COMPUTED, ""]
    return "\n".join(out).rstrip("\n") + "\n"
