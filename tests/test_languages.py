"""Translations: a multilingual Hugo site root built with no option but the root keeps
every page, ranks related posts within each language (`--cross-language` mixes them,
never listing a post's own translation), links the versions of a post to each other,
and a real `hugo` build renders each page's related links to pages of its language."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from click.testing import CliRunner

from blogrec.cli import main
from blogrec.corpus import load_corpus, tag_sets
from blogrec.evaluation.metrics import random_score
from blogrec.features import Features
from blogrec.related import RECIPE_FIELDS, related_for
from blogrec.sites import detect_site

from .conftest import REPO, SAMPLE_BLOG, need_tool

SITE = Path(__file__).resolve().parent / "fixtures" / "sites" / "hugo-multilingual"
PARTIAL = REPO / "templates/hugo/layouts/partials/blogrec-related.html"
# The fixture's posts (content/posts/, not the list pages or the headless bundle) and
# the versions of one post, as the files say.
POSTS = {
    "bundle-post/index.md", "compost-basics.md", "compost-basics.es.md",
    "garden-journal.md", "planting-garlic-2023.md", "planting-garlic-2024.md",
    "plantulas-de-tomate.es.md", "tomato-seedlings.md", "watering-schedule.md",
    "watering-schedule.es.md",
}
VERSIONS = [{"compost-basics.md", "compost-basics.es.md"},
            {"tomato-seedlings.md", "plantulas-de-tomate.es.md"},
            {"watering-schedule.md", "watering-schedule.es.md"}]


def file_of(entry: dict) -> str:
    return entry["path"].removeprefix("content/posts/")


def language_of(entry: dict) -> str:
    """The language its file name says (the fixture's default: English)."""
    return "es" if file_of(entry).endswith(".es.md") else "en"


def translations_of(name: str) -> set[str]:
    return next((v - {name} for v in VERSIONS if name in v), set())


def build_root(tmp: Path, cache: Path, *options: str) -> dict:
    """A copy of the fixture built as a user would: `blogrec build ROOT` (the cache
    through its environment variable, not an option); its related.json."""
    root = tmp / "site"
    shutil.copytree(SITE, root)
    result = CliRunner(env={"BLOGREC_CACHE_DIR": str(cache)}).invoke(
        main, ["-q", "build", str(root), *options], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((root / "data/blogrec/related.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def by_language(tmp_path_factory, cache):
    tmp = tmp_path_factory.mktemp("by-language")
    return tmp / "site", build_root(tmp, cache)


@pytest.fixture(scope="module")
def cross_language(tmp_path_factory, cache):
    return build_root(tmp_path_factory.mktemp("cross"), cache, "--cross-language")


def test_every_page_of_both_languages_is_a_post(by_language):
    _, doc = by_language
    assert doc["count"] == len(POSTS) == 10
    assert {file_of(e) for e in doc["posts"].values()} == POSTS


def test_related_posts_stay_in_the_posts_language(by_language):
    _, doc = by_language
    posts = doc["posts"]
    by_path = {e["path"]: e for e in posts.values()}
    for entry in posts.values():
        assert entry["lang"] == language_of(entry)
        assert entry["related"], entry["slug"]
        for rel in entry["related"]:
            assert language_of(by_path[rel["path"]]) == language_of(entry), entry["slug"]
            assert rel["lang"] == entry["lang"]
    # three Spanish posts: each has the two others, and only them
    spanish = [e for e in posts.values() if language_of(e) == "es"]
    assert len(spanish) == 3
    assert all(len(e["related"]) == 2 for e in spanish)


def test_each_version_lists_its_translations(by_language):
    _, doc = by_language
    for entry in doc["posts"].values():
        found = {file_of(t) for t in entry["translations"]}
        assert found == translations_of(file_of(entry)), entry["slug"]
        for t in entry["translations"]:
            assert t["lang"] != entry["lang"]
            assert doc["posts"][t["slug"]]["path"] == t["path"]  # a key of `posts`


def test_a_page_finds_its_key_by_language_and_slug(by_language):
    _, doc = by_language
    lookup = doc["languages"]
    assert set(lookup) == {"en", "es"}
    # x.md and x.es.md: the same page slug, two keys
    assert lookup["en"]["watering-schedule"] == "watering-schedule"
    assert lookup["es"]["watering-schedule"] == "es/watering-schedule"
    assert lookup["es"]["compostaje-basico"] == "compostaje-basico"
    for lang, pages in lookup.items():
        for key in pages.values():
            assert doc["posts"][key]["lang"] == lang


def test_cross_language_mixes_languages_but_never_lists_a_translation(cross_language):
    posts = cross_language["posts"]
    by_path = {e["path"]: e for e in posts.values()}
    mixed = 0
    for entry in posts.values():
        assert len(entry["related"]) == 4
        related = {file_of(by_path[r["path"]]) for r in entry["related"]}
        assert not related & translations_of(file_of(entry)), entry["slug"]
        assert file_of(entry) not in related
        mixed += any(r["lang"] != entry["lang"] for r in entry["related"])
    assert mixed >= 3  # at least every Spanish post reaches English ones


def test_ranking_within_groups_is_ranking_each_group_as_its_own_blog(encoder):
    """`related_for(..., groups)` gives each group the ranking it would get alone, and
    `Features.subset` re-encodes nothing the blog's features already embedded."""
    posts = load_corpus(str(SAMPLE_BLOG)).posts
    groups = ["ja" if re.search(r"[\u3040-\u30ff]", p.title) else "other" for p in posts]
    assert len(set(groups)) == 2
    features = Features(posts, encoder)
    for method in ("blogrec", "tfidf", "use-recipe"):
        idx, scores = related_for(method, features, 4, groups)
        for label in set(groups):
            rows = np.flatnonzero([g == label for g in groups])
            alone_idx, alone_scores = related_for(method, Features([posts[i] for i in rows],
                                                                   encoder), 4)
            expected = np.where(alone_idx >= 0, rows[np.maximum(alone_idx, 0)], -1)
            np.testing.assert_array_equal(idx[rows], expected, err_msg=method)
            np.testing.assert_allclose(scores[rows], alone_scores, rtol=1e-5, atol=1e-6)
    # no cache: a vector not carried over from the blog's features would be encoded
    features = Features(posts, encoder)
    features.use(RECIPE_FIELDS)
    sub = features.subset(list(range(0, len(posts), 2)))
    sub.use(RECIPE_FIELDS)
    assert features.encoded == len(posts) and sub.encoded == 0


def test_the_blogs_cache_keeps_what_a_subset_embedded(encoder, tmp_path):
    posts = load_corpus(str(SAMPLE_BLOG)).posts
    features = Features(posts, encoder, str(tmp_path))
    features.use(RECIPE_FIELDS)
    features.subset(range(5)).use(("title",))  # texts only the subset embedded
    features.save_cache()
    again = Features(posts[:5], encoder, str(tmp_path))
    again.use(("title",))
    again.use(RECIPE_FIELDS)
    assert again.encoded == 0


def test_hugo_renders_each_pages_related_links_in_its_language(by_language, tmp_path):
    hugo = need_tool("hugo")
    root, doc = by_language
    site = tmp_path / "hugo"
    shutil.copytree(root, site)
    (site / "layouts/partials").mkdir(parents=True)
    shutil.copy(PARTIAL, site / "layouts/partials/")
    proc = subprocess.run([hugo, "--quiet", "-s", str(site)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    public = site / "public"

    def page_lang(path: Path) -> str:
        return re.search(r'<html lang="([^"]+)"', path.read_text("utf-8"))[1]

    seen = {}
    for entry in doc["posts"].values():
        # Hugo's URL of the page: the fixture's permalink pattern, Spanish under /es/
        candidates = [p for p in public.rglob("index.html")
                      if f"<h1>{html.escape(entry['title'], quote=False)}</h1>"
                      in p.read_text("utf-8")]
        assert len(candidates) == 1, entry["title"]
        page = candidates[0]
        assert page_lang(page) == entry["lang"]
        aside = page.read_text("utf-8").split('class="blogrec-related"')[1]
        links = re.findall(r'<a href="([^"]+)">([^<]*)</a>', aside)
        # every page its own list, found by its file (`paths`): the two garlic posts
        # share a slug, which a lookup by slug cannot tell apart
        assert [html.unescape(t) for _, t in links] == \
            [r["title"] for r in entry["related"]], entry["slug"]
        for href, _ in links:
            target = public / unquote(href).strip("/") / "index.html"
            assert page_lang(target) == entry["lang"], (entry["slug"], href)
        seen[entry["lang"]] = seen.get(entry["lang"], 0) + len(links)
    assert seen["es"] == 6 and seen["en"] >= 20


def test_the_random_baseline_draws_within_the_groups():
    """Two languages with their own tags: a ranking within each language picks a post
    of the same tags every time, one across languages only a third of the time."""
    tags = [frozenset({"soil"})] * 4 + [frozenset({"suelo"})] * 4
    assert random_score(tags) == pytest.approx(3 / 7)
    assert random_score(tags, ["en"] * 4 + ["es"] * 4) == pytest.approx(1.0)


def test_evaluate_ranks_a_multilingual_root_within_each_language(tmp_path, cache):
    root = tmp_path / "site"
    shutil.copytree(SITE, root)
    result = CliRunner(env={"BLOGREC_CACHE_DIR": str(cache)}).invoke(
        main, ["-q", "evaluate", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    evaluation = json.loads((root / "blogrec-reports/evaluation.json").read_text("utf-8"))
    rows = {r["method"]: r for r in evaluation["related"]}
    assert {"random", "tfidf", "blogrec"} <= set(rows)
    # the random row's expectation is within each language, as the rankings are: higher
    # than across languages, whose tags hardly meet
    posts = load_corpus(root, detect_site(root)).posts
    groups = [p.lang for p in posts]
    assert rows["random"]["score"] == pytest.approx(random_score(tag_sets(posts), groups))
    assert rows["random"]["score"] > random_score(tag_sets(posts)) + 0.05
