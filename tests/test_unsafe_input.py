"""A hostile blog, built as a user would: no URL a browser would run reaches any file
blogrec writes, a bad field costs that field and never the post, and a blog without tags
gets one clear line instead of numpy warnings."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from blogrec.build import BuildConfig, build_demo, run_build, search_blog
from blogrec.cli import main
from blogrec.urls import safe_url, url_problem

from . import hostile
from .conftest import post

# The cases of tests/hostile.py that are posts with a bad field or an unsafe URL.
FIELD_CASES = [c for c in hostile.CASES
               if c.expect == "accepted" and (c.name.startswith(("unsafe-url", "safe-url"))
                                              or c.reason.startswith("'"))]


@pytest.mark.parametrize("value", [v for _, v in hostile.UNSAFE_URLS]
                         + ["mailto:a@example.org", "  \t", "ftp://example.org/x"])
def test_unsafe_urls_are_refused(value):
    assert safe_url(value) is None
    assert url_problem(value)


@pytest.mark.parametrize("value", hostile.SAFE_URLS)
def test_safe_urls_are_kept_as_written(value):
    assert safe_url(value) == value
    assert safe_url(f" \t{value}\n") == value


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("href", "src", "action") and v is not None]


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unsafe")
    root, aux = tmp / "posts", tmp / "aux"
    good = hostile.write_good_posts(root, 12, seed=3)
    made = hostile.build_hostile_blog(root, aux, FIELD_CASES)
    out, reports, cache = tmp / "site_data", tmp / "reports", tmp / "cache"
    result = run_build(BuildConfig(posts_dir=str(root), out_dir=str(out),
                                   reports_dir=str(reports), cache_dir=str(cache)))
    demo = build_demo(str(root), str(tmp / "demo"), cache_dir=str(cache),
                      site_data_dir=str(tmp / "demo_data"))
    hits = search_blog(str(root), "unsafe url", 50, cache_dir=str(cache))
    return {"tmp": tmp, "good": good, "made": made, "out": out, "reports": reports,
            "result": result, "demo": demo, "search": hits}


def _written_files(build) -> list[Path]:
    tmp = build["tmp"]
    dirs = [build["out"], build["reports"], tmp / "demo", tmp / "demo_data"]
    files = [p for d in dirs for p in d.rglob("*") if p.is_file()]
    assert len(files) > 10, files
    return files


def test_no_unsafe_url_reaches_any_file_blogrec_writes(hostile_build):
    for path in _written_files(hostile_build):
        text = path.read_text("utf-8", errors="replace")
        for marker in hostile.UNSAFE_MARKERS:
            assert marker not in text, f"{marker} in {path}"
        if path.suffix == ".html":
            parser = Hrefs()
            parser.feed(text)
            for url in parser.urls:
                assert url_problem(url) is None, f"{url!r} in {path}"
        if path.suffix == ".json":
            for url in re.findall(r'"url": ("(?:[^"\\]|\\.)*")', text):
                assert safe_url(json.loads(url)) == json.loads(url), f"{url} in {path}"
    dumped = json.dumps(hostile_build["search"])
    assert not any(m in dumped for m in hostile.UNSAFE_MARKERS)


def test_posts_with_a_bad_field_are_built_and_every_post_listed(hostile_build):
    related = json.loads((hostile_build["out"] / "related.json").read_text("utf-8"))
    by_path = {e["path"]: e for e in related["posts"].values()}
    expected = set(hostile_build["good"]) | {p for ps in hostile_build["made"].values()
                                             for p in ps}
    assert set(by_path) == expected
    for case in FIELD_CASES:
        entry = by_path[hostile_build["made"][case.name][0]]
        assert len(entry["related"]) == 4
        if case.name.startswith("unsafe-url"):
            assert "url" not in entry
        if case.name.startswith("safe-url"):
            assert entry["url"] == safe_url(entry["url"])
    listed = {r["path"] for e in related["posts"].values() for r in e["related"]}
    assert listed & {hostile_build["made"][c.name][0] for c in FIELD_CASES}


def test_build_report_lists_field_warnings_apart_from_rejections(hostile_build):
    report = json.loads((hostile_build["reports"] / "build-report.json").read_text("utf-8"))
    assert report["rejected"] == []
    warned = {(w["path"], w["reason"]) for w in report["warnings"]}
    for case in FIELD_CASES:
        if case.reason:
            path = hostile_build["made"][case.name][0]
            assert any(p == path and case.reason in r for p, r in warned), case.name
    url_warning = next(r for p, r in warned if p == "unsafe-url-0.md")
    assert url_warning.startswith("'url' is not a link blogrec writes (its scheme "
                                  "'javascript' is not http(s))")


# ---------------------------------------------------------------- a blog without tags


@pytest.fixture(scope="module")
def tagless_blog(tmp_path_factory):
    root = tmp_path_factory.mktemp("tagless") / "posts"
    root.mkdir()
    for i in range(60):  # enough posts for the stacked tag model's full path
        (root / f"garden-{i:02d}.md").write_text(
            f"---\ntitle: Garden notes {i}\ndate: 2020-01-{1 + i % 28:02d}\n---\n"
            f"## Tomatoes {i}\n\nWe grew tomatoes and beans in bed {i}.\n", "utf-8")
    draft = root.parent / "draft.md"
    draft.write_text(post("Tomatoes again", tags="[]"), "utf-8")
    return root, draft


def test_suggest_tags_on_a_tagless_blog_says_so_and_exits_2(tagless_blog, tmp_path):
    root, draft = tagless_blog
    res = CliRunner().invoke(main, ["suggest-tags", str(draft), str(root),
                                    "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip().splitlines()[-1] == (
        f"{root}: no post of this blog has tags (looked at tags, tag, topics)")
    assert "Warning" not in res.stderr and res.stdout == ""


def test_tagless_build_writes_tags_json_with_the_note(tagless_blog, tmp_path):
    root, _ = tagless_blog
    run_build(BuildConfig(posts_dir=str(root), out_dir=str(tmp_path / "out"),
                          reports_dir=str(tmp_path / "reports"),
                          cache_dir=str(tmp_path / "cache")))
    tags = json.loads((tmp_path / "out" / "tags.json").read_text("utf-8"))
    assert tags["note"] == "no post of this blog has tags (looked at tags, tag, topics)"
    assert tags["tags"] == [] and len(tags["posts"]) == 60
    assert all(p == {"tags": [], "suggested": []} for p in tags["posts"].values())
