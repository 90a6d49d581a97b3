"""The HTML/Markdown/JSON report: self-contained, escaped, deterministic, and really
rendering in headless Chromium (Debian's chromium; no browser download)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from blogrec import clusters as C
from blogrec import figures as F
from blogrec import report as R
from blogrec.corpus import Post
from blogrec.vectors import normalize_rows

from .conftest import REPO

EVIL = "<script>alert(1)</script>"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _posts_and_vectors() -> tuple[list[Post], np.ndarray]:
    rng = np.random.default_rng(0)
    topics = [("Python", "パイソン入門"), ("料理", "カレーの作り方"), ("<b>bold</b>", EVIL)]
    posts, rows = [], []
    for t, (tag, title) in enumerate(topics):
        for j in range(6):
            i = len(posts)
            posts.append(Post(path=f"{i}.md", slug=f"post-{i}", title=f"{title} {j}" if j
                              else title, date=f"2021-0{t + 1}-1{j}", tags=(tag, "共通")))
            rows.append(np.eye(8)[t] + 0.2 * rng.standard_normal(8))
    return posts, normalize_rows(np.array(rows))


@pytest.fixture(scope="module")
def data() -> dict:
    posts, vectors = _posts_and_vectors()
    result = C.cluster_posts(posts, vectors, k=3)
    return {
        "blog": "test blog",
        "corpus": {
            "posts_dir": "posts", "posts": len(posts), "posts_with_tags": len(posts),
            "tags": 4, "rejected": [{"path": "bad.md", "reason": f"malformed {EVIL}"}],
            "skipped": [], "warnings": [],
            "top_tags": [{"tag": "共通", "count": 18}, {"tag": "<b>bold</b>", "count": 6}],
        },
        "related": {"k": 4, "default": "use", "rows": [
            {"method": "random", "score": 0.1, "note": "chance"},
            {"method": "use", "score": 0.35123456, "note": "title & lede"}]},
        "tags": {"metrics": {"popularity": {"MAP@5": 0.29, "P@1": 0.6},
                             "knn": {"MAP@5": 0.43, "P@1": 0.68}},
                 "counts": {"train posts": 14, "held-out posts": 4}},
        **F.report_section(result, posts, vectors, map_method="pca"),
    }


def timings(stamp: str) -> dict:
    return {"steps": {"parse": 0.12, "embed": 3.4}, "methods": {"knn": 0.05},
            "generated_at": stamp}


@pytest.fixture(scope="module")
def written(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    R.write_report(out, data, timings("2030-01-01T00:00:00"))
    return out


def test_writes_the_four_files(written):
    names = sorted(p.name for p in written.iterdir() if not p.name.startswith("."))
    assert names == ["index.html", "report.json", "report.md", "timings.json"]
    assert json.loads((written / "timings.json").read_text())["steps"]["embed"] == 3.4


def test_html_is_self_contained(written):
    html = (written / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"<script\b", html, re.I)
    assert not re.search(r"<link\b(?![^>]*href=\"data:)", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "<svg" in html and 'id="map-svg"' in html and 'id="dendrogram"' in html


def test_every_title_tag_and_reason_is_escaped(written):
    html = (written / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "<b>bold</b>" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"malformed {escaped}" in html  # rejection reason
    assert f"<title>{escaped}" in html  # inside the map's SVG <title>
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # tag in the cluster table and top tags
    md = (written / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md and r"\<script\>alert(1)\</script\>" in md


def test_json_and_markdown_depend_on_data_only(data, written, tmp_path):
    R.write_report(tmp_path, data, timings("1999-12-31T23:59:59"))
    for name in ("report.json", "report.md"):
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes(), name
        assert b"2030-01-01" not in (written / name).read_bytes()
    assert b"2030-01-01" in (written / "index.html").read_bytes()
    assert (tmp_path / "index.html").read_bytes() != (written / "index.html").read_bytes()
    rep = json.loads((written / "report.json").read_text())
    assert "dendrogram_svg" not in rep and rep["related"]["rows"][1]["score"] == 0.3512
    assert rep["clusters"]["k"] == 3 and len(rep["map"]["points"]) == 18


def test_every_section_is_optional(tmp_path):
    R.write_report(tmp_path, {}, {})
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert html.count(R.NOT_COMPUTED) == len(R.SECTIONS)
    assert (tmp_path / "report.md").read_text().count(R.NOT_COMPUTED) == 4


def test_unexpected_active_svg_content_is_refused():
    out = R.render_html({"dendrogram_svg": '<svg><script>alert(1)</script></svg>'})
    assert "<script" not in out and "dendrogram rejected" in out


def test_prefect_artifacts_have_stable_valid_keys(data, monkeypatch):
    import prefect.artifacts as pa

    calls = []
    monkeypatch.setattr(pa, "create_markdown_artifact",
                        lambda markdown, key=None, description=None: calls.append(("md", key)))
    monkeypatch.setattr(pa, "create_table_artifact",
                        lambda table, key=None, description=None:
                        calls.append(("table", key, len(table))))
    keys = R.publish_prefect_artifacts(data)
    assert keys == ["blogrec-report", "blogrec-related-eval", "blogrec-tag-eval",
                    "blogrec-clusters"]
    assert all(re.fullmatch(r"[a-z0-9-]+", k) for k in keys)
    assert calls[0] == ("md", "blogrec-report")
    assert ("table", "blogrec-clusters", 3) in calls


# ---------------------------------------------------------------- headless Chromium


def _need_chromium():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright Python package"
    else:
        missing = None if os.access(CHROMIUM, os.X_OK) else CHROMIUM
    if missing:
        msg = f"{missing} is missing: run scripts/install-system-deps.sh (chromium from Debian)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.mark.slow
def test_report_renders_in_headless_chromium(written):
    _need_chromium()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    shot = REPO / "test-artifacts" / "report.png"
    shot.parent.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: problems.append(f"request: {r.url}")
                    if not r.url.startswith(("file:", "data:")) else None)
            page.goto((written / "index.html").resolve().as_uri())
            page.wait_for_load_state("load")
            for selector in ("#dendrogram svg", "#map-svg"):
                el = page.locator(selector)
                assert el.is_visible(), selector
                box = el.bounding_box()
                assert box and box["width"] > 100 and box["height"] > 50, (selector, box)
            assert page.locator("#map-svg circle").count() == 18
            # The escaped title is text again in the DOM, and no script element exists.
            titles = page.locator("#map-svg circle title").all_text_contents()
            assert any(t.startswith(EVIL) for t in titles)
            assert page.locator("script").count() == 0
            assert EVIL in page.locator("#s-clusters").inner_text()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not problems, problems
    assert shot.stat().st_size > 10_000

