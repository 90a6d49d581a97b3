"""What readers see: compact post vectors for "For you", and a small static demo site.

`export_post_vectors` writes site_data/vectors.json: each post's embedding as 512 int8
values with a per-post scale, base64-encoded, so the browser can average the posts a
reader opened and rank the others by cosine (static/foryou.js). Nothing leaves the browser.

`build_demo_site` turns site_data (related.json, optional clusters.json and vectors.json)
and the posts into plain HTML: an index, one page per post with its tags, related posts,
the latest post of its cluster and a "For you" box. Everything is escaped; page file names
are derived from slugs so that no slug can write outside the output directory.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Post
from .outputs import VECTORS_JSON, export_post_vectors
from .store import atomic_write_bytes

log = logging.getLogger(__name__)

DEMO_MARKER = ".blogrec-demo"
POSTS_SUBDIR = "posts"
STATIC_FILES = ("foryou.js", "demo.css")
FOR_YOU_N = 5
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt")
                                                     for i in range(1, 10)}


# ---------------------------------------------------------------- vectors


# ---------------------------------------------------------------- safe names


def page_name(slug: str) -> str:
    """A file-name stem for a slug: lowercase ASCII letters, digits, '-' and '_' only.

    A slug that is not already of that form (`../x`, `/etc/passwd`, `日本語`, `Con`) gets
    a short hash of the original appended, so distinct slugs keep distinct names.
    """
    text = unicodedata.normalize("NFKC", slug)
    base = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:64].strip("-_")
    if base == slug and base and base not in _WINDOWS_RESERVED:
        return base
    digest = hashlib.sha256(slug.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{base or 'post'}-{digest}"


def page_names(slugs: Iterable[str]) -> dict[str, str]:
    """slug -> unique file name (`name.html`), stable for a given set of slugs."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for slug in sorted(set(slugs)):
        stem = page_name(slug)
        candidate, n = stem, 2
        while candidate in taken:
            candidate, n = f"{stem}-{n}", n + 1
        taken.add(candidate)
        names[slug] = f"{candidate}.html"
    return names


def _inside(root: Path, path: Path) -> Path:
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise ValueError(f"refusing to write outside {root}: {path}")
    return resolved


# ---------------------------------------------------------------- reading site_data


def _read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None


def _slug_of(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("slug"), str):
        return item["slug"]
    return None


def _date_key(date: Any) -> str:
    return date if isinstance(date, str) else ""


def cluster_latest(clusters_doc: Any, posts_by_slug: dict[str, Post]) -> dict[str, dict]:
    """slug -> {"name": cluster name, "latest": slug of the newest other member or None}.

    Reads clusters.json defensively: clusters as a list under "clusters", members as slugs
    (or objects with a slug), a "name" or "name_tags", an optional "newest" (object or
    slug). When the newest member is the post itself, the newest other member is shown.
    """
    out: dict[str, dict] = {}
    if not isinstance(clusters_doc, dict):
        return out
    clusters = clusters_doc.get("clusters")
    if not isinstance(clusters, list):
        return out
    for c in clusters:
        if not isinstance(c, dict):
            continue
        members = [s for s in (_slug_of(m) for m in c.get("members") or []) if s]
        name = c.get("name")
        if not isinstance(name, str) or not name:
            tags = [t for t in c.get("name_tags") or [] if isinstance(t, str)]
            name = " / ".join(tags) if tags else f"Cluster {c.get('id', '?')}"
        newest = _slug_of(c.get("newest"))
        known = [s for s in members if s in posts_by_slug]
        for slug in members:
            latest = newest if newest and newest != slug and newest in posts_by_slug else None
            if latest is None:
                others = [s for s in known if s != slug]
                if others:
                    latest = max(others, key=lambda s: (_date_key(posts_by_slug[s].date), s))
            out[slug] = {"name": name, "latest": latest}
    return out


# ---------------------------------------------------------------- HTML


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _short_date(date: Any) -> str:
    return date[:10] if isinstance(date, str) else ""


def _page(title: str, body: str, root: str, scripts: Sequence[str] = ()) -> str:
    script_tags = "".join(f'<script src="{_e(root + s)}" defer></script>\n' for s in scripts)
    return (
        "<!doctype html>\n"
        '<html lang="mul">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n"
        f'<link rel="stylesheet" href="{_e(root)}assets/demo.css">\n'
        f"{script_tags}</head>\n<body>\n"
        f'<header class="site"><a href="{_e(root)}index.html">blogrec demo</a>'
        "<small>related posts, clusters and “for you”, computed from the posts</small>"
        "</header>\n"
        f"{body}</body>\n</html>\n"
    )


def _tags_html(tags: Sequence[str]) -> str:
    if not tags:
        return ""
    return '<ul class="tags">' + "".join(f"<li>{_e(t)}</li>" for t in tags) + "</ul>"


def _link(slug: str | None, title: Any, names: dict[str, str], prefix: str) -> str:
    if slug and slug in names:
        return f'<a href="{_e(prefix + names[slug])}" data-slug="{_e(slug)}">{_e(title)}</a>'
    return f"<span>{_e(title)}</span>"


def _for_you_box(current: str, root: str, has_vectors: bool,
                 exclude: Sequence[str] = ()) -> str:
    if not has_vectors:
        return ""
    excluded = f' data-exclude="{_e(json.dumps(list(exclude)))}"' if exclude else ""
    return (
        f'<section id="blogrec-foryou" class="foryou" data-current="{_e(current)}"{excluded} '
        f'data-n="{FOR_YOU_N}" data-vectors="{_e(root)}data/vectors.json">\n'
        "<h2>For you</h2>\n"
        '<p class="blogrec-foryou-empty">Read a few posts: this box then suggests others '
        "like them.</p>\n<ol></ol>\n"
        '<p class="privacy">Computed in your browser from the posts you opened here; '
        "your reading history stays in this browser (localStorage).</p>\n"
        '<button type="button" class="blogrec-foryou-forget">Forget my history</button>\n'
        "</section>\n"
    )


def _post_page(post: Post, entry: dict[str, Any] | None, cluster: dict[str, Any] | None,
               posts_by_slug: dict[str, Post], names: dict[str, str],
               has_vectors: bool) -> str:
    meta = [f'<time datetime="{_e(post.date)}">{_e(_short_date(post.date))}</time>'] \
        if post.date else []
    article = [f"<h1>{_e(post.title)}</h1>",
               f'<div class="meta">{" · ".join(meta)} {_tags_html(post.tags)}</div>']
    if post.lede:
        article.append(f'<p class="lede">{_e(post.lede)}</p>')
    if post.headings:
        article.append('<h2>In this post</h2>\n<ul class="outline">'
                       + "".join(f"<li>{_e(h)}</li>" for h in post.headings) + "</ul>")
    article.append(f'<p class="meta">Source: <code>{_e(post.path)}</code></p>')

    aside = []
    related = (entry or {}).get("related") or []
    items = []
    for r in related:
        if not isinstance(r, dict):
            continue
        score = r.get("score")
        score_html = f' <span class="score">{float(score):.2f}</span>' \
            if isinstance(score, (int, float)) else ""
        items.append(f"<li>{_link(r.get('slug'), r.get('title'), names, '')}"
                     f' <span class="date">{_e(_short_date(r.get("date")))}</span>'
                     f"{score_html}</li>")
    aside.append('<section id="related">\n<h2>Related posts</h2>\n'
                 + (f'<ol class="related">{"".join(items)}</ol>' if items
                    else "<p>No related post.</p>") + "\n</section>\n")
    if cluster and cluster.get("latest"):
        latest = posts_by_slug[cluster["latest"]]
        aside.append(
            '<section id="cluster-latest">\n'
            f"<h2>Latest in “{_e(cluster['name'])}”</h2>\n"
            f"<p>{_link(latest.slug, latest.title, names, '')} "
            f'<span class="date">{_e(_short_date(latest.date))}</span></p>\n</section>\n'
        )
    shown = [r["slug"] for r in related if isinstance(r, dict) and isinstance(r.get("slug"), str)]
    aside.append(_for_you_box(post.slug, "../", has_vectors, exclude=shown))
    body = (f'<main class="layout">\n<article>\n{chr(10).join(article)}\n</article>\n'
            f"<aside>\n{''.join(aside)}</aside>\n</main>\n")
    scripts = ["data/pages.js", "assets/foryou.js"] if has_vectors else []
    return _page(post.title, body, "../", scripts)


def _index_page(posts: Sequence[Post], names: dict[str, str], has_vectors: bool,
                model: str | None) -> str:
    ordered = sorted(posts, key=lambda p: (_date_key(p.date), p.slug), reverse=True)
    rows = [
        f'<li><span class="date">{_e(_short_date(p.date))}</span> '
        f"{_link(p.slug, p.title, names, POSTS_SUBDIR + '/')} {_tags_html(p.tags)}</li>"
        for p in ordered
    ]
    about = f" Embeddings: {_e(model)}." if model else ""
    body = (
        '<main class="layout">\n<div>\n'
        f"<h1>All posts ({len(posts)})</h1>\n"
        f'<p class="meta">Static demo built by blogrec.{about}</p>\n'
        f'<ol class="post-list">{"".join(rows)}</ol>\n</div>\n'
        f"<aside>\n{_for_you_box('', '', has_vectors)}</aside>\n</main>\n"
    )
    scripts = ["data/pages.js", "assets/foryou.js"] if has_vectors else []
    return _page("blogrec demo", body, "", scripts)


def _pages_js(names: dict[str, str]) -> bytes:
    """window.BLOGREC_PAGES: slug -> href from the site root; the page's own root prefix is
    added by reading the script's location."""
    mapping = json.dumps({s: f"{POSTS_SUBDIR}/{n}" for s, n in sorted(names.items())},
                         ensure_ascii=True, indent=0, sort_keys=True)
    return (
        "// generated by blogrec: slug -> demo page, relative to the site root\n"
        "(function () {\n"
        "  var script = document.currentScript;\n"
        "  var root = script ? script.src.replace(/data\\/pages\\.js(?:[?#].*)?$/, '') : '';\n"
        f"  var pages = {mapping};\n"
        "  var out = {};\n"
        "  Object.keys(pages).forEach(function (s) { out[s] = root + pages[s]; });\n"
        "  window.BLOGREC_PAGES = out;\n"
        "})();\n"
    ).encode()


def _prepare_out_dir(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"{out} exists and is not a directory")
        if any(out.iterdir()) and not (out / DEMO_MARKER).exists():
            raise ValueError(
                f"{out} is not empty and was not made by blogrec demo; choose another --out"
            )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / DEMO_MARKER, b"made by blogrec demo; safe to delete\n")


def build_demo_site(site_data_dir: str | os.PathLike[str], posts: Sequence[Post],
                    out_dir: str | os.PathLike[str], vectors: np.ndarray | None = None,
                    model: str | None = None) -> Path:
    """Write the demo site into out_dir and return the path of its index.html.

    Reads site_data_dir/related.json (required), clusters.json (optional: the "latest in
    cluster" box) and vectors.json (optional: the "For you" box). Passing `vectors` (one
    row per post) exports them instead of reading vectors.json. Layout:
    index.html, posts/<name>.html, assets/{foryou.js,demo.css},
    data/{vectors.json,pages.js}. Pages of posts no longer in `posts` are removed.
    """
    site_data = Path(site_data_dir)
    related_doc = _read_json(site_data / "related.json")
    if not isinstance(related_doc, dict) or not isinstance(related_doc.get("posts"), dict):
        raise ValueError(f"{site_data / 'related.json'} is missing or not a blogrec related.json")
    related = related_doc["posts"]
    model = model or related_doc.get("model")

    out = Path(out_dir)
    _prepare_out_dir(out)
    root = out.resolve()
    posts_dir = _inside(root, out / POSTS_SUBDIR)
    posts_by_slug = {p.slug: p for p in posts}
    names = page_names(posts_by_slug)
    clusters = cluster_latest(_read_json(site_data / "clusters.json"), posts_by_slug)

    vectors_path = _inside(root, out / "data" / VECTORS_JSON)
    if vectors is not None:
        export_post_vectors(posts, vectors, vectors_path, model=model)
    elif (site_data / VECTORS_JSON).is_file():
        atomic_write_bytes(vectors_path, (site_data / VECTORS_JSON).read_bytes())
    elif vectors_path.exists():
        vectors_path.unlink()
    has_vectors = vectors_path.exists()
    if has_vectors:
        atomic_write_bytes(_inside(root, out / "data" / "pages.js"), _pages_js(names))

    static = resources.files("blogrec") / "static"
    for name in STATIC_FILES:
        atomic_write_bytes(_inside(root, out / "assets" / name), (static / name).read_bytes())

    for post in posts:
        target = _inside(root, posts_dir / names[post.slug])
        page = _post_page(post, related.get(post.slug), clusters.get(post.slug),
                          posts_by_slug, names, has_vectors)
        atomic_write_bytes(target, page.encode("utf-8"))
    keep = set(names.values())
    for old in posts_dir.glob("*.html"):
        if old.name not in keep:
            old.unlink()
    index = _inside(root, out / "index.html")
    atomic_write_bytes(index, _index_page(posts, names, has_vectors, model).encode("utf-8"))
    return index


