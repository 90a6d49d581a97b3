"""The demo site, the exported post vectors, the site-generator snippets, and the demo in
headless Chromium (related links, "For you" after reading three posts on one topic)."""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
import socket
import subprocess
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from blogrec.build import BuildConfig, run_build
from blogrec.corpus import Post
from blogrec.outputs import export_post_vectors, load_post_vectors, quantize, related_payload
from blogrec.site import build_demo_site, cluster_latest, page_name, page_names
from blogrec.store import atomic_write_json
from blogrec.urls import safe_url

from .conftest import IN_CI, REPO, need_tool
from .hostile import SAFE_URLS, UNSAFE_MARKERS, UNSAFE_URLS

TEMPLATES = REPO / "templates"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
# Three PostgreSQL posts (two Japanese, one English) and the tags of that topic.
TOPIC_READS = ["postgresql-partial-index", "postgresql-covering-index-include",
               "too-many-indexes"]
TOPIC_TAGS = {"PostgreSQL", "SQL", "Indexing"}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def built(sample_site, tmp_path_factory):
    """The sample blog's shared build, and the demo site made from its site data."""
    posts = sample_site.result.corpus.posts
    demo = tmp_path_factory.mktemp("site") / "demo"
    index = build_demo_site(sample_site.out, posts, demo)
    return {"posts": posts, "site_data": sample_site.out, "demo": demo, "index": index,
            "vectors": sample_site.result.features.use(sample_site.config.fields),
            "related": json.loads((sample_site.out / "related.json").read_text("utf-8"))}


class Links(HTMLParser):
    """Collects <a href> links (with their text) per <section id=...>, and the <h1>."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.links: dict[str | None, list[tuple[str, str]]] = {}
        self._href: str | None = None
        self._text: list[str] = []
        self._in_h1 = False
        self.h1 = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id")
        elif tag == "a":
            self._href, self._text = a.get("href"), []
        elif tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag):
        if tag == "section":
            self.section = None
        elif tag == "a" and self._href is not None:
            self.links.setdefault(self.section, []).append((self._href, "".join(self._text)))
            self._href = None
        elif tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)
        if self._in_h1:
            self.h1 += data


def parse(path: Path) -> Links:
    p = Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


# ---------------------------------------------------------------- demo site (HTML)


def test_demo_site_has_every_post_with_related_cluster_and_tags(built):
    demo, posts = built["demo"], built["posts"]
    names = page_names(p.slug for p in posts)
    assert built["index"] == demo.resolve() / "index.html"
    index = parse(built["index"])
    assert {href for href, _ in index.links[None]} >= {f"posts/{n}" for n in names.values()}
    clusters = json.loads((built["site_data"] / "clusters.json").read_text("utf-8"))
    clustered = {m for c in clusters["clusters"] for m in c["members"]}
    for post in posts:
        page = demo / "posts" / names[post.slug]
        doc = parse(page)
        assert doc.h1 == post.title
        related = doc.links["related"]
        assert len(related) == 4
        expected = built["related"]["posts"][post.slug]["related"]
        assert [t for _, t in related] == [r["title"] for r in expected]
        for href, _ in related:
            assert (page.parent / href).is_file(), href
        text = page.read_text("utf-8")
        for tag in post.tags:
            assert f"<li>{tag}</li>" in text
        if post.slug in clustered:
            (href, _title), = doc.links["cluster-latest"]
            assert (page.parent / href).is_file() and href != names[post.slug]
        assert 'id="blogrec-foryou"' in text and "cdn" not in text.lower()
        assert "http://" not in text and "https://" not in text  # nothing external


def test_latest_in_cluster_is_the_newest_other_member():
    posts = {s: Post(path=f"{s}.md", slug=s, title=s.upper(), date=d)
             for s, d in [("a", "2020-01-01"), ("b", "2022-01-01"), ("c", "2021-06-01")]}
    doc = {"clusters": [{"id": 1, "name_tags": ["X", "Y"], "members": ["a", "b", "c"],
                         "newest": {"slug": "b", "title": "B", "date": "2022-01-01"}}]}
    got = cluster_latest(doc, posts)
    assert got["a"] == {"name": "X / Y", "latest": "b"}
    assert got["b"]["latest"] == "c"  # b is the newest: show the newest other member
    # other shapes: a slug for newest, a name, member objects; junk is ignored
    doc2 = {"clusters": [{"id": 2, "name": "Z", "members": [{"slug": "a"}, {"slug": "c"}],
                          "newest": "c"}, "junk", {"members": None}]}
    assert cluster_latest(doc2, posts) == {"a": {"name": "Z", "latest": "c"},
                                           "c": {"name": "Z", "latest": "a"}}
    assert cluster_latest(None, posts) == {} and cluster_latest({"clusters": 3}, posts) == {}


HOSTILE = ["../escape", "/etc/passwd", "..", ".", "a/../../b", "CON", "日本語のスラッグ",
           "x\\..\\y", "-", "UPPER", "upper", "a" * 300, "nul\x00byte", "ok-slug_1"]


def test_page_names_stay_inside_and_are_distinct():
    names = page_names(HOSTILE)
    assert len(set(names.values())) == len(HOSTILE)
    for slug, name in names.items():
        assert re.fullmatch(r"[a-z0-9_-]{1,80}\.html", name), (slug, name)
    assert page_name("ok-slug_1") == "ok-slug_1"
    assert page_name("../escape").startswith("escape-")
    assert page_name("/etc/passwd").startswith("etc-passwd-")
    assert page_name("CON") != "con"


def test_hostile_slugs_and_titles_are_sanitised_and_escaped(tmp_path):
    evil = "<script>alert('x')</script>"
    posts = [Post(path=f"p{i}.md", slug=s, title=f"{evil} {i} & co",
                  date=f"2021-01-{i % 9 + 1:02d}",
                  tags=(f'<img src=x onerror="alert({i})">',), lede=evil, headings=(evil,),
                  url="javascript:alert(1)")
             for i, s in enumerate(HOSTILE)]
    n = len(posts)
    neighbours = np.array([[(i + d) % n for d in (1, 2, 3, 4)] for i in range(n)])
    scores = np.full((n, 4), 0.5)
    atomic_write_json(tmp_path / "sd" / "related.json",
                      related_payload(posts, neighbours, scores, "test", "test"))
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, 512)).astype(np.float32)
    out = tmp_path / "demo"
    build_demo_site(tmp_path / "sd", posts, out, vectors=vectors)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(out.resolve() in f.resolve().parents or f.parent == tmp_path / "sd"
               for f in files)
    assert not (tmp_path / "escape").exists() and not Path("/etc/passwd.html").exists()
    pages = sorted((out / "posts").glob("*.html"))
    assert len(pages) == n
    for page in [*pages, out / "index.html"]:
        text = page.read_text("utf-8")
        assert "<script>alert" not in text and "<img" not in text
        assert "javascript:" not in text
        assert "onerror=&quot;" in text
    assert all("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in p.read_text("utf-8")
               for p in pages)
    # each page has 4 related links, all to pages that exist
    for page in pages:
        related = parse(page).links["related"]
        assert len(related) == 4 and all((page.parent / h).is_file() for h, _ in related)


def test_demo_refuses_a_directory_it_did_not_make_and_prunes_old_pages(tmp_path, built):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not made by blogrec demo"):
        build_demo_site(built["site_data"], built["posts"], foreign)
    assert (foreign / "precious.txt").read_text() == "keep me"
    out = tmp_path / "demo"
    build_demo_site(built["site_data"], built["posts"], out)
    first = (out / "posts" / "sqlite-wal-mode.html").read_bytes()
    fewer = [p for p in built["posts"] if p.slug != "sqlite-wal-mode"]
    build_demo_site(built["site_data"], fewer, out)
    assert not (out / "posts" / "sqlite-wal-mode.html").exists()
    build_demo_site(built["site_data"], built["posts"], out)
    assert (out / "posts" / "sqlite-wal-mode.html").read_bytes() == first


def test_demo_without_clusters_or_vectors_omits_those_boxes(tmp_path, built):
    sd = tmp_path / "sd"
    sd.mkdir()
    shutil.copy(built["site_data"] / "related.json", sd)
    build_demo_site(sd, built["posts"], tmp_path / "demo")
    text = (tmp_path / "demo" / "posts" / "sqlite-wal-mode.html").read_text("utf-8")
    assert 'id="related"' in text
    assert "cluster-latest" not in text and "blogrec-foryou" not in text
    assert not (tmp_path / "demo" / "data" / "vectors.json").exists()


# ---------------------------------------------------------------- vectors.json


def test_vectors_round_trip_keeps_the_similarities(built, tmp_path):
    posts, x = built["posts"], built["vectors"]
    path = built["site_data"] / "vectors.json"
    slugs, deq = load_post_vectors(path)
    assert slugs == [p.slug for p in posts]
    assert deq.shape == x.shape == (len(posts), 512)
    unit = deq / np.linalg.norm(deq, axis=1, keepdims=True)
    iu = np.triu_indices(len(posts), 1)
    exact, approx = (x @ x.T)[iu], (unit @ unit.T)[iu]
    assert np.corrcoef(exact, approx)[0, 1] > 0.999
    assert np.abs(exact - approx).max() < 0.01
    # same ranking of the nearest post for (nearly) every post
    ex, ap = x @ x.T, unit @ unit.T
    np.fill_diagonal(ex, -2)
    np.fill_diagonal(ap, -2)
    assert (ex.argmax(1) == ap.argmax(1)).mean() > 0.95
    # deterministic bytes, documented size: 512 int8 -> 684 base64 chars per post
    again = tmp_path / "v.json"
    export_post_vectors(posts, x, again, model=json.loads(path.read_text("utf-8"))["model"])
    assert again.read_bytes() == path.read_bytes()
    doc = json.loads(path.read_bytes())
    assert doc["dim"] == 512 and doc["dtype"] == "int8" and doc["count"] == len(posts)
    assert {len(e["vector"]) for e in doc["posts"]} == {684}
    assert path.stat().st_size / len(posts) < 1100


def test_quantize_handles_zero_and_extreme_rows():
    x = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [1e-30, 0.0, -1e-30]])
    q, scales = quantize(x)
    assert q.dtype == np.int8 and scales[0] == 0 and (q[0] == 0).all()
    assert q[1, :2].tolist() == [127, -127] and np.abs(q).max() <= 127
    assert np.abs(q[1] * scales[1] - x[1]).max() <= scales[1] / 2 + 1e-9


# ---------------------------------------------------------------- generator snippets

SNIPPETS = {
    "hugo": TEMPLATES / "hugo/layouts/partials/blogrec-related.html",
    "jekyll": TEMPLATES / "jekyll/_includes/blogrec-related.html",
    "hexo": TEMPLATES / "hexo/scripts/blogrec.js",
    "astro": TEMPLATES / "astro/src/components/BlogrecRelated.astro",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_every_field_a_snippet_reads_is_in_related_json(name, built):
    text = SNIPPETS[name].read_text("utf-8")
    used = set(re.findall(r"(?<![\w.])\$?rel\.(\w+)", text))
    assert used >= {"title", "date"}, used
    entries = [r for e in built["related"]["posts"].values() for r in e["related"]]
    # url: only when a post sets permalink/url; lang: only on a multilingual blog (its
    # entries have it: tests/test_languages.py)
    present = set().union(*entries) | {"url", "lang"}
    assert used <= present, used - present
    assert "posts" in built["related"] and "related" in text


# Hand-edited related.json entries (users edit the JSON): URLs a browser would run. Each
# template must link such a post to its own page instead.
HOSTILE_URLS = [v for _, v in UNSAFE_URLS]


def _site_posts(related: dict) -> dict[str, dict]:
    """The sample's related.json with one url set, a hostile title and, on every related
    entry of the other posts, in turn, a URL a browser would run (for the snippets)."""
    posts = json.loads(json.dumps(related["posts"]))
    victim = posts["sqlite-wal-mode"]
    n = 0
    for entry in posts.values():
        for r in entry["related"]:
            if r["slug"] == "sqlite-wal-mode":
                r["url"] = "/custom/wal/"
            elif r["slug"] != "tls-13-handshake-briefly":
                r["url"] = HOSTILE_URLS[n % len(HOSTILE_URLS)]
                n += 1
            if r["slug"] == "tls-13-handshake-briefly":
                r["title"] = "<script>alert(1)</script>"
    victim["url"] = "/custom/wal/"
    return posts


def _check_rendered(html_text: str, entry: dict, resolve) -> None:
    links = re.findall(r'<a href="([^"]+)">([^<]*)</a>', html_text.split("blogrec-related")[1])
    assert len(links) == 4, html_text
    for (href, title), rel in zip(links, entry["related"], strict=True):
        if safe_url(rel.get("url")):
            assert href == rel["url"]
        else:  # no url, or one the template must refuse: the post's own page
            assert resolve(href).is_file(), href
        assert html.unescape(title) == rel["title"]
    assert "<script>alert" not in html_text
    for marker in UNSAFE_MARKERS:
        assert marker not in html_text


def _every_post_checked(posts: dict, render) -> None:
    """Render every post with related posts: each hostile URL is met at least once."""
    met = set()
    for slug, entry in sorted(posts.items()):
        if entry["related"]:
            render(slug, entry)
            met |= {r.get("url") for r in entry["related"]}
    assert set(HOSTILE_URLS) <= met


def _post_with_related_to(posts: dict, slug: str) -> str:
    return next(s for s, e in sorted(posts.items())
                if any(r["slug"] == slug for r in e["related"]))


def test_hugo_partial_renders_related_links(built, tmp_path):
    hugo = need_tool("hugo")
    site = tmp_path / "hugo"
    posts = _site_posts(built["related"])
    doc = {**built["related"], "posts": posts}
    atomic_write_json(site / "data/blogrec/related.json", doc)
    (site / "layouts/_default").mkdir(parents=True)
    (site / "layouts/partials").mkdir(parents=True)
    shutil.copy(SNIPPETS["hugo"], site / "layouts/partials/")
    (site / "layouts/_default/single.html").write_text(
        "<!doctype html><html><head><title>{{ .Title }}</title></head><body>"
        "<h1>{{ .Title }}</h1>{{ partial \"blogrec-related.html\" . }}</body></html>\n")
    (site / "layouts/_default/list.html").write_text("<html><body></body></html>\n")
    (site / "config.toml").write_text('baseURL = "http://example.org/"\ntitle = "t"\n'
                                      'disableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n')
    content = site / "content/posts"
    content.mkdir(parents=True)
    for slug, e in posts.items():
        (content / e["path"]).write_text(
            f"---\ntitle: {json.dumps(e['title'])}\ndate: {e['date']}\nslug: {slug}\n---\nbody\n",
            "utf-8")
    proc = subprocess.run([hugo, "--quiet", "-s", str(site)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    public = site / "public"
    assert _post_with_related_to(posts, "sqlite-wal-mode")
    assert _post_with_related_to(posts, "tls-13-handshake-briefly")

    def render(slug, entry):
        page = public / "posts" / slug / "index.html"
        _check_rendered(page.read_text("utf-8"), entry,
                        lambda href: public / href.strip("/") / "index.html")

    _every_post_checked(posts, render)


def test_jekyll_include_renders_related_links(built, tmp_path):
    jekyll = need_tool("jekyll")
    site = tmp_path / "jekyll"
    posts = _site_posts(built["related"])
    atomic_write_json(site / "_data/blogrec/related.json", {**built["related"], "posts": posts})
    for d in ("_includes", "_layouts", "_posts"):
        (site / d).mkdir(parents=True)
    shutil.copy(SNIPPETS["jekyll"], site / "_includes/")
    (site / "_layouts/post.html").write_text(
        "<!doctype html><html><head><title>{{ page.title | escape }}</title></head><body>"
        "<h1>{{ page.title | escape }}</h1>{% include blogrec-related.html %}</body></html>\n")
    (site / "_config.yml").write_text("title: t\n")
    for slug, e in posts.items():
        (site / "_posts" / e["path"]).write_text(
            f"---\nlayout: post\ntitle: {json.dumps(e['title'])}\nslug: {slug}\n---\nbody\n",
            "utf-8")
    proc = subprocess.run([jekyll, "build", "--quiet", "-s", str(site), "-d",
                           str(site / "_site")], capture_output=True, text=True, timeout=300,
                          cwd=site)
    assert proc.returncode == 0, proc.stderr
    out = site / "_site"

    def render(slug, entry):
        date = entry["date"][:10].replace("-", "/")
        page = out / date / f"{slug}.html"
        _check_rendered(page.read_text("utf-8"), entry, lambda href: out / href.lstrip("/"))

    _every_post_checked(posts, render)


HEXO_HARNESS = r"""
const path = require("path");
const posts = JSON.parse(process.argv[3]);
let helper = null;
global.hexo = {
  base_dir: process.argv[2], config: {},
  extend: { helper: { register: (name, fn) => { if (name === "blogrec_related") helper = fn; } } },
  locals: { get: (what) => ({ toArray: () => (what === "posts" ? posts : []) }) },
};
require(path.resolve(process.argv[4]));
const ctx = { url_for: (p) => "/" + String(p).replace(/^\//, "") };
const out = {};
for (const p of posts) out[p.slug] = helper.call(ctx, p);
process.stdout.write(JSON.stringify(out));
"""


def render_hexo(node: str, work: Path, base_dir: Path, hexo_posts: list[dict]) -> dict:
    """{slug: the helper's HTML} of each Hexo post object, the helper run in node on the
    site at base_dir (its source/_data/blogrec/related.json)."""
    (work / "harness.js").write_text(HEXO_HARNESS)
    proc = subprocess.run([node, str(work / "harness.js"), str(base_dir),
                           json.dumps(hexo_posts), str(SNIPPETS["hexo"])],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_hexo_helper_renders_related_links(built, tmp_path):
    node = need_tool("node") if IN_CI else shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    posts = _site_posts(built["related"])
    atomic_write_json(tmp_path / "source/_data/blogrec/related.json",
                      {**built["related"], "posts": posts})
    # Hexo post objects: source under _posts/, path = the post's URL path, own slug
    hexo_posts = [{"source": f"_posts/{e['path']}", "slug": Path(e["path"]).stem,
                   "path": f"archives/{slug}/"} for slug, e in posts.items()]
    rendered = render_hexo(node, tmp_path, tmp_path, hexo_posts)
    by_slug = {hp["path"].split("/")[1]: hp["slug"] for hp in hexo_posts}
    _every_post_checked(posts, lambda slug, entry: _check_rendered(
        rendered[by_slug[slug]], entry, lambda h: _hexo_ok(h, posts)))


# The URL checks of the Astro component and of foryou.js, run in node as they stand.
URL_CHECK_HARNESS = r"""
const fs = require("fs");
const [kind, file, urls] = [process.argv[2], process.argv[3], JSON.parse(process.argv[4])];
let check;
if (kind === "astro") {
  const text = fs.readFileSync(file, "utf8");
  const body = text.split("// blogrec:safe-url")[1].split("// blogrec:end")[0];
  check = new Function(body + "; return safeUrl;")();
} else {
  check = require(file).BlogrecForYou.safeHref;
}
process.stdout.write(JSON.stringify(urls.map((u) => check(u))));
"""


@pytest.mark.parametrize("kind", ["astro", "foryou"])
def test_astro_and_for_you_link_only_safe_urls(kind, tmp_path):
    node = need_tool("node") if IN_CI else shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    file = SNIPPETS["astro"] if kind == "astro" else REPO / "blogrec/static/foryou.js"
    urls = HOSTILE_URLS + SAFE_URLS + [" /padded/ ", "mailto:x@example.org", 42]
    (tmp_path / "harness.js").write_text(URL_CHECK_HARNESS)
    proc = subprocess.run([node, str(tmp_path / "harness.js"), kind, str(file),
                           json.dumps(urls)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [safe_url(u) for u in urls]
    text = SNIPPETS["astro"].read_text("utf-8")
    assert "href={safeUrl(rel.url) ??" in text and "rel.url ??" not in text.replace(
        "safeUrl(rel.url) ??", "")


def _hexo_ok(href: str, posts: dict) -> Path:
    """A Hexo link is /archives/<slug>/ of an existing post; return an existing file then."""
    m = re.fullmatch(r"/archives/([^/]+)/", href)
    assert m and m.group(1) in posts, href
    return Path(__file__)


# ---------------------------------------------------------------- headless Chromium


@pytest.fixture(scope="module")
def server(built):
    handler = functools.partial(QuietHandler, directory=str(built["demo"]))
    with socket.socket() as s:  # a free port on loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def browser():
    need_tool("chromium", CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("python playwright is not installed")
        pytest.skip("python playwright is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def names_to_slug(href: str, names: dict[str, str]) -> str:
    return next(s for s, n in names.items() if n == href)


def _for_you(page) -> list[str]:
    page.wait_for_selector("#blogrec-foryou[data-state]", timeout=10_000)
    assert page.get_attribute("#blogrec-foryou", "data-state") != "error"
    return page.eval_on_selector_all("#blogrec-foryou li a",
                                     "els => els.map(e => e.dataset.slug)")


def test_post_page_in_chromium_shows_4_related_links_to_real_pages(built, server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    names = page_names(p.slug for p in built["posts"])
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    slug = "kubernetes-requests-and-limits"
    resp = page.goto(f"{server}/posts/{names[slug]}")
    assert resp and resp.status == 200
    links = page.locator("#related a")
    assert links.count() == 4
    targets = [(links.nth(i).get_attribute("href"), links.nth(i).inner_text())
               for i in range(4)]
    assert page.locator("#cluster-latest a").count() == 1
    assert page.locator(".tags li").all_inner_texts() == list(
        next(p for p in built["posts"] if p.slug == slug).tags)
    suggested = _for_you(page)
    assert len(suggested) == 5 and slug not in suggested
    shown = {names_to_slug(h, names) for h, _ in targets}
    assert not shown & set(suggested)  # no repeat of the related posts beside it
    page.screenshot(path=str(ARTIFACTS / "demo-post.png"), full_page=True)
    # follow each related link in a separate context (so it is not "read" by the reader)
    other = browser.new_context().new_page()
    for href, title in targets:
        r = other.goto(f"{server}/posts/{href}")
        assert r and r.status == 200, href
        assert other.locator("h1").inner_text() == title
    # clicking really navigates
    page.locator("#related a").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == targets[0][1]
    assert errors == []
    context.close()


def test_for_you_in_chromium_favours_the_topic_just_read(built, server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    names = page_names(p.slug for p in built["posts"])
    tags = {p.slug: set(p.tags) for p in built["posts"]}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/index.html")
    assert _for_you(page) == []  # nothing read yet: nothing to suggest
    for slug in TOPIC_READS:
        page.goto(f"{server}/posts/{names[slug]}")
        _for_you(page)
    history = page.evaluate("JSON.parse(localStorage.getItem('blogrec:history'))")
    assert history == TOPIC_READS
    page.goto(f"{server}/index.html")
    top = _for_you(page)
    assert len(top) == 5 and not set(top) & set(TOPIC_READS)
    on_topic = [s for s in top if tags[s] & TOPIC_TAGS]
    assert len(on_topic) >= 3, (top, on_topic)
    # chance: the share of unread posts on the topic is far lower
    unread = [s for s in tags if s not in TOPIC_READS]
    assert sum(bool(tags[s] & TOPIC_TAGS) for s in unread) / len(unread) < 0.2
    # the browser ranks exactly as numpy does on the exported vectors
    slugs, deq = load_post_vectors(built["site_data"] / "vectors.json")
    unit = deq / np.linalg.norm(deq, axis=1, keepdims=True)
    profile = unit[[slugs.index(s) for s in TOPIC_READS]].mean(0)
    scores = unit @ (profile / np.linalg.norm(profile))
    expected = [slugs[i] for i in np.argsort(-scores, kind="stable")
                if slugs[i] not in TOPIC_READS][:5]
    assert top == expected
    page.screenshot(path=str(ARTIFACTS / "demo-foryou.png"))
    # "Forget my history" empties the box and the storage
    page.click(".blogrec-foryou-forget")
    assert page.evaluate("localStorage.getItem('blogrec:history')") is None
    assert page.locator("#blogrec-foryou li").count() == 0
    context.close()


SITES = Path(__file__).resolve().parent / "fixtures" / "sites"


def test_jekyll_include_on_a_site_root_build_finds_each_post_by_its_file(tmp_path):
    """`blogrec build SITE_ROOT` of a Jekyll site whose tags are categories and two of
    whose posts share a slug (makefiles, 2023 and 2024): every post page shows its own
    list (related.json's `paths`, by `page.path`), linked to the posts' pages."""
    jekyll = need_tool("jekyll")
    site = shutil.copytree(SITES / "jekyll-categories", tmp_path / "site")
    run_build(BuildConfig(posts_dir=str(site), cache_dir=str(tmp_path / "cache")))
    doc = json.loads((site / "_data/blogrec/related.json").read_text("utf-8"))
    assert set(doc["paths"]) == {e["path"] for e in doc["posts"].values()}
    (site / "_includes").mkdir()
    shutil.copy(SNIPPETS["jekyll"], site / "_includes/")
    (site / "_layouts").mkdir()
    (site / "_layouts/post.html").write_text(
        "<!doctype html><html><body><h1>{{ page.title | escape }}</h1>"
        "{% include blogrec-related.html %}</body></html>\n", "utf-8")
    # the fixture's Gemfile, theme and feed plugin are not needed to render the include
    (site / "Gemfile").unlink()
    config = site / "_config.yml"
    config.write_text("".join(line for line in config.read_text("utf-8").splitlines(True)
                              if not line.startswith(("theme:", "plugins:", "  - jekyll-",
                                                      "baseurl:"))), "utf-8")
    proc = subprocess.run([jekyll, "build", "--quiet", "-s", str(site), "-d",
                           str(site / "_site")], capture_output=True, text=True, timeout=300,
                          cwd=site)
    assert proc.returncode == 0, proc.stderr
    pages = {}
    for page in (site / "_site").rglob("index.html"):
        title = re.search(r"<h1>(.*?)</h1>", page.read_text("utf-8"))
        if title:
            pages[html.unescape(title[1])] = page
    assert len(pages) >= len(doc["posts"]) == 5
    for entry in doc["posts"].values():
        aside = pages[entry["title"]].read_text("utf-8").split('class="blogrec-related"')[1]
        links = re.findall(r'<a href="([^"]+)">([^<]*)</a>', aside)
        assert [html.unescape(t) for _, t in links] == [r["title"] for r in entry["related"]]
        for href, _ in links:
            assert (site / "_site" / href.strip("/") / "index.html").is_file(), href


def test_hexo_helper_on_a_two_language_site_root(tmp_path):
    """A Hexo root whose posts say their language: each page, found by its source file,
    lists the related posts of its own language, linked to their pages."""
    node = need_tool("node") if IN_CI else shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    root = tmp_path / "site"
    texts = {
        "en": ["Sourdough starter feeding", "Sourdough bread with rye flour",
               "Kimchi and lactic fermentation", "Sauerkraut in a crock"],
        "es": ["Masa madre: cómo alimentarla", "Pan de masa madre con centeno",
               "Chucrut en casa: fermentación láctica"],
    }
    (root / "source/_posts").mkdir(parents=True)
    (root / "_config.yml").write_text("title: t\nlanguage: [en, es]\nurl: https://x.example\n"
                                      "permalink: :title/\n", "utf-8")
    for lang, titles in texts.items():
        for n, title in enumerate(titles):
            (root / f"source/_posts/{lang}-{n}.md").write_text(
                f"---\ntitle: {json.dumps(title)}\nlang: {lang}\ntags: [ferment]\n---\n"
                + f"{title}. " * 3, "utf-8")
    run_build(BuildConfig(posts_dir=str(root), cache_dir=str(tmp_path / "cache")))
    doc = json.loads((root / "source/_data/blogrec/related.json").read_text("utf-8"))
    assert doc["count"] == 7
    hexo_posts = [{"source": e["path"].removeprefix("source/"), "slug": Path(e["path"]).stem,
                   "path": f"{Path(e['path']).stem}/", "lang": e["lang"]}
                  for e in doc["posts"].values()]
    rendered = render_hexo(node, tmp_path, root, hexo_posts)
    lang_of = {hp["path"]: hp["lang"] for hp in hexo_posts}
    for entry in doc["posts"].values():
        page = rendered[Path(entry["path"]).stem]
        links = re.findall(r'<a href="/([^"]+)">([^<]*)</a>', page)
        assert [html.unescape(t) for _, t in links] == [r["title"] for r in entry["related"]]
        assert len(links) == len(texts[entry["lang"]]) - 1
        assert {lang_of[href] for href, _ in links} == {entry["lang"]}
