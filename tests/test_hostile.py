"""Hostile and broken blogs (tests/hostile.py): every input has an expected outcome, is
handled in bounded time and memory, and never costs the rest of the blog a post."""

from __future__ import annotations

import html
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from blogrec.corpus import Corpus, load_corpus
from blogrec.embeddings import FIELDS, document_text
from blogrec.text.clean import clean_markdown
from blogrec.text.matrices import passages

from . import hostile
from .hostile import CASES, MARKER_NAME, Case

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks, FIFOs, chmod")

PER_FILE_SECONDS = 10.0
GOOD_POSTS = 5


def outcome(corpus: Corpus, path: str) -> tuple[str, str]:
    """(kind, reason or warning text) of one file in a loaded corpus."""
    for note in corpus.rejected:
        if note.path == path:
            return "rejected", note.reason
    for note in corpus.skipped:
        if note.path == path:
            return "skipped", note.reason
    for post in corpus.posts:
        if post.path == path:
            warnings = " | ".join(w.reason for w in corpus.warnings if w.path == path)
            return "accepted", warnings
    return "ignored", ""


def _load_and_process(root: str) -> dict:
    """What the build does with the text of every post (bounded by run_bounded)."""
    corpus = load_corpus(root)
    for post in corpus.posts:
        clean_markdown(post.body)
        document_text(post, FIELDS)
        passages(post, 600, 8)
    return {"corpus": corpus}


def check_case(case: Case, corpus: Corpus, paths: list[str]) -> None:
    for path in paths:
        kind, text = outcome(corpus, path)
        assert kind == case.expect, f"{case.name}: {path} was {kind} ({text})"
        if case.reason:
            assert case.reason in text, f"{case.name}: {text!r} lacks {case.reason!r}"
        if kind == "rejected":
            assert text.strip(), f"{case.name}: rejected without a reason"
        if kind == "accepted":
            post = next(p for p in corpus.posts if p.path == path)
            if case.title is not None:
                assert post.title == case.title
            if case.tags is not None:
                assert post.tags == case.tags
            if case.check:
                case.check(post)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_hostile_input_has_its_expected_outcome_in_bounded_time(case, tmp_path):
    root, aux = tmp_path / "posts", tmp_path / "aux"
    good = hostile.write_good_posts(root, 2)
    paths = hostile.build_hostile_blog(root, aux, [case])[case.name]
    result, seconds = hostile.run_bounded(_load_and_process, str(root),
                                          timeout=PER_FILE_SECONDS * 3)
    corpus = result["corpus"]
    assert seconds < PER_FILE_SECONDS, f"{case.name} took {seconds:.1f}s"
    check_case(case, corpus, paths)
    assert {p.path for p in corpus.posts} >= set(good), "a good post was lost"
    assert not (aux / MARKER_NAME).exists(), "a YAML payload ran code"


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, int]]:
    """Every path under root (not following symlinks, not under skip) -> (size, mtime)."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        dirnames[:] = [n for n in dirnames if d / n not in skip]
        for name in dirnames + filenames:
            st = os.lstat(d / name)
            is_dir = name in dirnames and not os.path.islink(d / name)
            out[str((d / name).relative_to(root))] = (0 if is_dir else st.st_size,
                                                     0 if is_dir else st.st_mtime_ns)
    return out


@pytest.mark.slow
def test_a_build_over_every_hostile_input_keeps_every_good_post(tmp_path, capsys):
    from blogrec.build import BuildConfig, run_build
    from blogrec.outputs import BUILD_REPORT, RELATED_JSON

    work = tmp_path / "work"
    root, aux = work / "posts", work / "outside"
    out, reports, cache = work / "site_data", work / "reports", work / "cache"
    good = hostile.write_good_posts(root, GOOD_POSTS, seed=7)
    made = hostile.build_hostile_blog(root, aux)
    skip = (out, reports, cache)
    before_work = snapshot(work, skip)
    before_parent = sorted(os.listdir(tmp_path))
    before_root_tmp = set(os.listdir("/tmp")) if os.path.isdir("/tmp") else set()
    cwd_before = sorted(os.listdir(os.getcwd()))

    start = time.perf_counter()
    result = run_build(BuildConfig(posts_dir=str(root), out_dir=str(out),
                                   reports_dir=str(reports), cache_dir=str(cache),
                                   evaluate=False, lock_timeout=5))
    seconds = time.perf_counter() - start

    related = json.loads((out / RELATED_JSON).read_text(encoding="utf-8"))
    report = json.loads((reports / BUILD_REPORT).read_text(encoding="utf-8"))
    corpus = result.corpus

    # every hostile input ends as expected, and the build report says why
    rejected = {n["path"]: n["reason"] for n in report["rejected"]}
    published = {e["path"] for e in related["posts"].values()}
    handled, failures = 0, []
    for case in CASES:
        try:
            check_case(case, corpus, made[case.name])
            for path in made[case.name]:
                if case.expect == "rejected":
                    assert path in rejected and rejected[path], path
                if case.expect == "accepted":
                    assert path in published, path
                if case.expect in ("ignored", "skipped"):
                    assert path not in published and path not in rejected, path
            handled += 1
        except AssertionError as exc:
            failures.append(f"{case.name}: {exc}")
    lost = [g for g in good if g not in published]
    tried = len(CASES)
    print(f"\nhostile inputs tried: {tried}, handled: {handled}, files lost: {len(lost)} "
          f"(build over {len(published)} posts and {len(rejected)} rejected files in "
          f"{seconds:.1f}s)")
    assert not failures, "\n".join(failures)
    assert (tried, handled, len(lost)) == (len(CASES), len(CASES), 0), lost
    assert related["count"] == len(related["posts"]) == len(corpus.posts)
    assert report["posts"] == len(corpus.posts)
    for entry in related["posts"].values():
        slugs = [r["slug"] for r in entry["related"]]
        assert entry["slug"] not in slugs and len(slugs) == len(set(slugs))

    # nothing written outside site_data/ and reports/ (and the cache); no code ran
    assert snapshot(work, skip) == before_work
    assert sorted(os.listdir(tmp_path)) == before_parent
    assert sorted(os.listdir(os.getcwd())) == cwd_before
    if before_root_tmp:
        new_in_tmp = set(os.listdir("/tmp")) - before_root_tmp
        assert not {n for n in new_in_tmp if "evil" in n or MARKER_NAME in n}, new_in_tmp
    assert not (aux / MARKER_NAME).exists()
    assert not any(MARKER_NAME in p.name for p in work.rglob("*"))

    # titles and tags with markup are data: escaped in the HTML report, never markup
    page = (reports / "index.html").read_text(encoding="utf-8")
    raw_script = re.findall(r"<script\b", page, flags=re.IGNORECASE)
    assert not raw_script, "raw <script> in the report"
    assert "<img src=x" not in page and "<b onmouseover" not in page
    # the map's tooltips show the titles: escaped
    assert html.escape("<script>alert('title')</script>") in page
    assert html.escape(hostile.IMG_TITLE) in page
    md = (reports / "report.md").read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)<script", md, flags=re.IGNORECASE)  # only as \\<script
