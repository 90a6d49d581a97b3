"""index.html: one self-contained page (inline CSS and SVG, no script, no external fetch;
opens offline from disk), including the run's timings."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .format import NOT_COMPUTED, _metric_columns, _metric_label, fmt, site_facts

# Tableau 10: distinct, colour-blind-friendlier than matplotlib's default cycle.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")


EXPLAIN = {
    "related": (
        "For every post with tags, its top {k} related posts are scored by the Dice "
        "overlap of their tags with the post's own tags, weighted by the logarithm of "
        "the rank (the reference study's score; 0 = no shared tags, 1 = identical tags "
        "at every rank). Higher is better; <em>random</em> shows the chance level."
    ),
    "links": (
        "The links the author wrote between the blog's posts are evidence the tags cannot "
        "fake: every link was removed from the text (anchor and target) before any method "
        "ranked, then <b>hit@{k}</b> is the share of linked posts that have a post they "
        "link to (or are linked from) among their top {k}, and <b>recall@{k}</b> the "
        "share of those posts found."
    ),
    "tags": (
        "The newest posts are held out and each method suggests tags for them, learning "
        "only from older posts. <b>MAP@k</b>: mean average precision of the top k "
        "suggestions against the tags the author chose; <b>P@k</b> / <b>R@k</b>: "
        "precision / recall of the top k; <b>nDCG@k</b>: rank-discounted gain. "
        "Higher is better."
    ),
    "clusters": (
        "Posts are grouped by spherical k-means on their sentence embeddings. Each "
        "cluster is named by the tags whose average post is closest to the cluster's "
        "centre and shown with its posts closest to that centre and its newest post."
    ),
    "quality": (
        "How well the clusters agree with the blog's own tags: normalised mutual "
        "information (NMI, 0 = unrelated, 1 = identical) between each post's cluster and "
        "its most frequent tag. <em>Random</em> shuffles the same cluster sizes over the "
        "posts; <em>plain k-means</em> clusters the same vectors without the spherical "
        "(cosine) constraint."
    ),
    "dendrogram": (
        "Ward hierarchical clustering of the cluster centres on cosine geometry: "
        "clusters joined further left are more alike. Leaves are ordered so that "
        "neighbours are as similar as possible."
    ),
    "map": (
        "Every post as a point, placed so that posts with similar embeddings are close "
        "together ({method}), coloured by cluster. Hover over a point to see its title."
    ),
}


CSS = """
:root{--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--accent:#2f6db5}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);line-height:1.5;
 font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans CJK JP",
 "IPAexGothic","Yu Gothic",Meiryo,sans-serif}
header{background:#fff;border-bottom:1px solid var(--line);padding:24px 32px 8px}
header h1{margin:0 0 4px;font-size:1.6rem}
header p{margin:0;color:var(--muted)}
nav{margin:12px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.92rem}
nav a{color:var(--accent);text-decoration:none}
main{max-width:1100px;margin:0 auto;padding:8px 24px 48px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 24px 20px;
 margin:20px 0}
h2{font-size:1.25rem;margin:16px 0 8px}
h3{font-size:1.02rem;margin:18px 0 6px}
p.explain{color:var(--muted);font-size:.92rem;margin:4px 0 12px;max-width:78ch}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:var(--bg);border-radius:6px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:1.4rem}
.card span{color:var(--muted);font-size:.85rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem;margin:6px 0}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.best td{background:#eef6ee}
td.best{background:#eef6ee;font-weight:600}
ol.posts{margin:0;padding-left:1.2em}
.score{color:var(--muted);font-size:.85em}
.muted{color:var(--muted)}
.nc{color:var(--muted);font-style:italic}
.figure svg{max-width:100%;height:auto;display:block;margin:0 auto}
#map-svg{width:100%;height:auto;background:#fbfcfd;border:1px solid var(--line);
 border-radius:6px}
#map-svg circle{stroke:#fff;stroke-width:.8}
#map-svg circle:hover{stroke:#1f2933;stroke-width:2}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:.88rem;margin:10px 0 0;
 padding:0;list-style:none}
.swatch{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:6px;
 vertical-align:-1px}
details summary{cursor:pointer;color:var(--accent)}
code{font-size:.88em;background:var(--bg);padding:1px 4px;border-radius:3px}
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:8px}
"""


def esc(value: Any) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def colour(cluster_id: int) -> str:
    if 1 <= cluster_id <= len(PALETTE):
        return PALETTE[cluster_id - 1]
    # Beyond 10 clusters: golden-angle hues, still deterministic.
    return f"hsl({(cluster_id * 137.508) % 360:.0f},55%,50%)"


def _best(values: Iterable[Any]) -> float | None:
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return max(nums) if nums else None


def _is_best(value: Any, best: float | None) -> bool:
    return value is not None and best is not None and value == best


def _table(headers: Sequence[tuple[str, str]], rows: Iterable[str]) -> str:
    head = "".join(f'<th class="{cls}">{esc(h)}</th>' for h, cls in headers)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _nc(what: str = "") -> str:
    return f'<p class="nc">{esc(what + " " if what else "")}{NOT_COMPUTED}.</p>'


def _corpus_html(c: dict[str, Any] | None) -> str:
    if not c:
        return _nc()
    cards = [
        (c.get("posts"), "posts"),
        (c.get("posts_with_tags"), "posts with tags"),
        (c.get("tags"), "distinct tags"),
        (len(c.get("rejected") or []), "files rejected"),
        (len(c.get("skipped") or []), "drafts skipped"),
    ]
    out = ['<div class="cards">']
    out += [f'<div class="card"><b>{esc(fmt(v))}</b><span>{esc(lbl)}</span></div>'
            for v, lbl in cards if v is not None]
    out.append("</div>")
    facts = [("Posts directory", c.get("posts_dir")), *site_facts(c),
             ("Text embedding", c.get("model")), ("Related-posts method", c.get("method"))]
    facts_html = "".join(f"<li>{esc(k)}: <code>{esc(v)}</code></li>" for k, v in facts if v)
    if facts_html:
        out.append(f'<ul class="muted">{facts_html}</ul>')
    if c.get("top_tags"):
        tags = ", ".join(f"{esc(t.get('tag'))} ({esc(t.get('count'))})" for t in c["top_tags"])
        out.append(f"<h3>Most used tags</h3><p>{tags}</p>")
    for key, title in (("rejected", "Rejected files"), ("skipped", "Skipped drafts"),
                       ("not_posts", "Not posts (list pages, headless bundles)"),
                       ("warnings", "Warnings")):
        notes = c.get(key) or []
        if key == "rejected" and not notes:
            out.append("<h3>Rejected files</h3><p class='muted'>None: every file was read.</p>")
            continue
        if not notes:
            continue
        rows = [f"<tr><td><code>{esc(n.get('path'))}</code></td><td>{esc(n.get('reason'))}"
                "</td></tr>" for n in notes]
        table = _table([("File", ""), ("Reason", "")], rows)
        if len(notes) > 10 or key != "rejected":
            table = f"<details><summary>show {len(notes)}</summary>{table}</details>"
        out.append(f"<h3>{esc(title)} ({len(notes)})</h3>{table}")
    return "".join(out)


def _related_html(r: dict[str, Any] | None) -> str:
    if not r or not r.get("rows"):
        return _nc()
    k = r.get("k", 4)
    links = r.get("links")
    cols = ["score", *([f"hit@{k}", f"recall@{k}"] if links else [])]
    # tag-overlap reads the posts' own tags: no fair tag Dice to mark as best
    best = {c: _best(row.get(c) for row in r["rows"]
                     if c != "score" or row.get("method") != "tag-overlap") for c in cols}
    rows = []
    for row in r["rows"]:
        mark = " (published)" if r.get("default") and row.get("method") == r["default"] else ""
        if links:
            cells = "".join(f'<td class="num{" best" if _is_best(row.get(c), best[c]) else ""}">'
                            f"{esc(fmt(row.get(c)))}</td>" for c in cols)
            rows.append(f"<tr><td>{esc(row.get('method'))}{esc(mark)}</td>{cells}"
                        f"<td>{esc(row.get('note', ''))}</td></tr>")
            continue
        cls = ' class="best"' if _is_best(row.get("score"), best["score"]) else ""
        rows.append(f"<tr{cls}><td>{esc(row.get('method'))}{esc(mark)}</td>"
                    f'<td class="num">{esc(fmt(row.get("score")))}</td>'
                    f"<td>{esc(row.get('note', ''))}</td></tr>")
    intro = f'<p class="explain">{EXPLAIN["related"].format(k=esc(k))}</p>'
    heads = [("Method", ""), (f"Score (top {k})", "num")]
    if links:
        intro += (f'<p class="explain">{EXPLAIN["links"].format(k=esc(k))} Links resolved: '
                  f"{esc(links['links_resolved'])}, unresolved: "
                  f"{esc(links['links_unresolved'])}; posts scored: "
                  f"{esc(links['posts_scored'])}.</p>")
        heads = [("Method", ""), (f"Tag Dice (top {k})", "num"), (f"Hit@{k}", "num"),
                 (f"Recall@{k}", "num")]
    return intro + _table([*heads, ("Note", "")], rows)


def _tags_html(t: dict[str, Any] | None) -> str:
    if not t or not t.get("metrics"):
        return _nc()
    metrics: dict[str, dict[str, Any]] = t["metrics"]
    cols = _metric_columns(metrics)
    best = {c: _best(m.get(c) for m in metrics.values()) for c in cols}
    notes = t.get("notes") or {}
    rows = []
    for method, vals in metrics.items():
        mark = " (published)" if t.get("default") == method else ""
        cells = "".join(
            f'<td class="num{" best" if _is_best(vals.get(c), best[c]) else ""}">'
            f"{esc(fmt(vals.get(c)))}</td>" for c in cols
        )
        rows.append(f"<tr><td>{esc(method)}{esc(mark)}</td>{cells}"
                    f"<td>{esc(notes.get(method, ''))}</td></tr>")
    headers = [("Method", "")] + [(_metric_label(c), "num") for c in cols] + [("Note", "")]
    counts = t.get("counts") or {}
    count_html = ("<p class='muted'>" + " · ".join(f"{esc(k)}: {esc(v)}"
                                                    for k, v in counts.items()) + "</p>"
                  if counts else "")
    return f'<p class="explain">{EXPLAIN["tags"]}</p>{count_html}' + _table(headers, rows)


def _post_line(ref: dict[str, Any] | None, with_score: bool = False) -> str:
    if not ref:
        return "<span class='muted'>–</span>"
    extra = ""
    if with_score and ref.get("score") is not None:
        extra = f' <span class="score">{esc(fmt(ref["score"]))}</span>'
    if ref.get("date") and not with_score:
        extra = f' <span class="score">{esc(str(ref["date"])[:10])}</span>'
    return f"{esc(ref.get('title'))}{extra}"


def _clusters_html(cl: dict[str, Any] | None) -> str:
    if not cl or not cl.get("clusters"):
        return _nc()
    rows = []
    for c in cl["clusters"]:
        reps = "".join(f"<li>{_post_line(r, True)}</li>" for r in c.get("representatives", []))
        sw = f'<span class="swatch" style="background:{colour(int(c.get("id", 0)))}"></span>'
        rows.append(
            f'<tr><td class="num">{sw}{esc(c.get("id"))}</td>'
            f"<td>{esc(', '.join(c.get('name_tags') or []) or c.get('name', ''))}</td>"
            f'<td class="num">{esc(c.get("size"))}</td>'
            f'<td><ol class="posts">{reps}</ol></td><td>{_post_line(c.get("newest"))}</td></tr>'
        )
    src = {"tags": "the 3 nearest tags", "titles": "frequent title words (the blog has no tags)"}
    intro = (f'<p class="explain">{EXPLAIN["clusters"]} k = {esc(cl.get("k"))}; names: '
             f"{esc(src.get(cl.get('name_source', ''), 'cluster numbers'))}.</p>")
    choice = cl.get("k_choice")
    if choice:
        scores = ", ".join(f"k={esc(k)}: {esc(fmt(v))}" for k, v in choice["scores"].items())
        intro += f"<p class='muted'>k chosen by {esc(choice['criterion'])} ({scores}).</p>"
    return intro + _table(
        [("#", "num"), ("Name (nearest tags)", ""), ("Posts", "num"),
         ("Closest to the centre", ""), ("Newest post", "")], rows)


def _quality_html(cl: dict[str, Any] | None) -> str:
    q = (cl or {}).get("quality")
    if not q or q.get("nmi") is None:
        return _nc()
    rows = [
        ("spherical k-means (these clusters)", q.get("nmi"), ""),
        ("plain k-means, same k and seed", q.get("plain_kmeans_nmi"), ""),
        ("random assignment, same cluster sizes", q.get("random_nmi"),
         f"mean of {q.get('random_runs', '')} shuffles, sd {fmt(q.get('random_nmi_std'))}"),
    ]
    body = [f'<tr><td>{esc(a)}</td><td class="num">{esc(fmt(b))}</td><td>{esc(c)}</td></tr>'
            for a, b, c in rows]
    return (f'<p class="explain">{EXPLAIN["quality"]} Posts scored: '
            f"{esc(q.get('posts_scored'))}.</p>"
            + _table([("Clustering", ""), ("NMI with tags", "num"), ("Note", "")], body))


_UNSAFE_SVG = re.compile(r"<\s*script|<\s*foreignObject|\bon[a-z]+\s*=|javascript:", re.I)


def _dendrogram_html(svg: str | None) -> str:
    if not svg or "<svg" not in svg:
        return _nc()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)  # matplotlib echoes label text here
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    if _UNSAFE_SVG.search(svg):  # we made it with matplotlib; anything active is not ours
        return _nc("dendrogram rejected (unexpected active content);")
    return (f'<p class="explain">{EXPLAIN["dendrogram"]}</p>'
            f'<div class="figure" id="dendrogram">{svg}</div>')


def map_svg(points: Sequence[dict[str, Any]], names: dict[int, str],
            width: int = 960, height: int = 600, pad: int = 16) -> str:
    """Scatter plot of the posts as inline SVG; each point's <title> is its post title."""
    circles = []
    for p in points:
        cid = int(p.get("cluster", 0))
        x = pad + float(p.get("x", 0)) * (width - 2 * pad)
        y = pad + (1 - float(p.get("y", 0))) * (height - 2 * pad)
        label = f"{p.get('title', '')} — {cid}. {names.get(cid, '')}".rstrip(". ")
        circles.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour(cid)}">'
                       f"<title>{esc(label)}</title></circle>")
    return (f'<svg id="map-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
            f'{height}" width="{width}" height="{height}" role="img" '
            f'aria-label="Map of all posts coloured by cluster">{"".join(circles)}</svg>')


def _map_html(m: dict[str, Any] | None, cl: dict[str, Any] | None) -> str:
    if not m or not m.get("points"):
        return _nc()
    clusters = (cl or {}).get("clusters") or []
    names = {int(c["id"]): c.get("name", "") for c in clusters}
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour(cid)}"></span>'
        f"{esc(cid)}. {esc(name)}</li>" for cid, name in names.items()
    )
    return (f'<p class="explain">{EXPLAIN["map"].format(method=esc(m.get("method", "")))}</p>'
            f'<div class="figure" id="map">{map_svg(m["points"], names)}</div>'
            f'<ul class="legend">{legend}</ul>')


def _timings_html(timings: dict[str, Any] | None) -> str:
    steps, methods, generated = split_timings(timings)
    if not steps and not methods:
        return _nc()
    out = []
    for title, items in (("Build steps", steps), ("Methods", methods)):
        if items:
            rows = [f'<tr><td>{esc(k)}</td><td class="num">{esc(fmt(float(v), 2))} s</td></tr>'
                    for k, v in items.items()]
            out.append(f"<h3>{esc(title)}</h3>" + _table([("", ""), ("Time", "num")], rows))
    if generated:
        out.append(f"<p class='muted'>Generated at {esc(generated)}.</p>")
    return "".join(out)


def split_timings(timings: dict[str, Any] | None
                  ) -> tuple[dict[str, float], dict[str, float], str | None]:
    steps: dict[str, float] = {}
    methods: dict[str, float] = {}
    generated = None
    for k, v in (timings or {}).items():
        if k == "steps" and isinstance(v, dict):
            steps.update(v)
        elif k == "methods" and isinstance(v, dict):
            methods.update(v)
        elif k == "generated_at":
            generated = str(v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            steps[k] = float(v)
    return steps, methods, generated


SECTIONS = (
    ("corpus", "The blog"),
    ("related", "Related posts"),
    ("tags", "Tag suggestions"),
    ("clusters", "Topic clusters"),
    ("quality", "Cluster quality"),
    ("dendrogram", "How the clusters relate"),
    ("map", "Map of all posts"),
    ("timings", "Timings"),
)


def render_html(data: dict[str, Any], timings: dict[str, Any] | None = None) -> str:
    blog = data.get("blog") or (data.get("corpus") or {}).get("posts_dir") or "your blog"
    cl = data.get("clusters")
    body = {
        "corpus": _corpus_html(data.get("corpus")),
        "related": _related_html(data.get("related")),
        "tags": _tags_html(data.get("tags")),
        "clusters": _clusters_html(cl),
        "quality": _quality_html(cl),
        "dendrogram": _dendrogram_html(data.get("dendrogram_svg")),
        "map": _map_html(data.get("map"), cl),
        "timings": _timings_html(timings),
    }
    nav = "".join(f'<a href="#s-{key}">{esc(title)}</a>' for key, title in SECTIONS)
    sections = "".join(f'<section id="s-{key}"><h2>{esc(title)}</h2>{body[key]}</section>'
                       for key, title in SECTIONS)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>blogrec report — {esc(blog)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>blogrec report</h1><p>{esc(blog)}</p><nav>{nav}</nav></header>"
        f"<main>{sections}</main><footer>Generated by blogrec.</footer></body></html>\n"
    )
