"""`blogrec suggest-links`: the posts a draft should link to, where, and with which words."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from blogrec.cli import main

from .conftest import SAMPLE_BLOG

DRAFT = """---
title: Moving a small blog from Jekyll to Hugo, again
tags: [Hugo]
---
Last year I moved this blog from Jekyll to Hugo, and the migration of the templates took
most of a weekend. This time I also want responsive images in Hugo through a shortcode.
The build still runs in CI, where the lockfile is committed like in
[my note on lockfiles](/2020/05/06/commit-your-lockfile/).
"""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


def suggest(draft, cache_dir, *extra):
    result = CliRunner().invoke(main, ["-q", "suggest-links", str(draft), str(SAMPLE_BLOG),
                                       "--cache-dir", cache_dir, "--json", *extra],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_suggest_links_finds_the_posts_a_draft_is_about_with_a_sentence_and_anchor(
        tmp_path, cache_dir):
    draft = tmp_path / "draft.md"
    draft.write_text(DRAFT, encoding="utf-8")
    result = suggest(draft, cache_dir, "-k", "5")
    found = [s["slug"] for s in result["suggestions"]]
    assert len(found) == 5
    # the two posts the draft is about come first
    assert set(found[:2]) == {"jekyll-to-hugo-migration", "hugo-shortcode-responsive-images"}
    for s in result["suggestions"]:
        assert set(s) == {"path", "slug", "title", "url", "score", "anchor", "passage"}
        assert s["passage"] in " ".join(DRAFT.split()) and s["anchor"]
    first = result["suggestions"][0]
    assert first["anchor"].casefold() in first["passage"].casefold()


def test_a_post_the_draft_links_to_already_is_marked_and_not_suggested_again(tmp_path,
                                                                              cache_dir):
    draft = tmp_path / "draft.md"
    draft.write_text(DRAFT, encoding="utf-8")
    result = suggest(draft, cache_dir, "-k", "65")
    assert [p["slug"] for p in result["linked"]] == ["commit-your-lockfile"]
    assert "commit-your-lockfile" not in {s["slug"] for s in result["suggestions"]}
    assert len(result["suggestions"]) == 64


def test_a_post_of_the_blog_given_as_the_draft_is_not_suggested_to_itself(cache_dir):
    post = SAMPLE_BLOG / "2019-09-02-jekyll-to-hugo-migration.md"
    result = suggest(post, cache_dir, "-k", "3")
    assert "jekyll-to-hugo-migration" not in {s["slug"] for s in result["suggestions"]}


def test_the_text_output_names_each_post_and_the_words_to_link(tmp_path, cache_dir):
    draft = tmp_path / "draft.md"
    draft.write_text(DRAFT, encoding="utf-8")
    result = CliRunner().invoke(main, ["-q", "suggest-links", str(draft), str(SAMPLE_BLOG),
                                       "--cache-dir", cache_dir, "-k", "2"])
    assert result.exit_code == 0, result.output
    assert "already linked:" in result.output and result.output.count('link "') == 2


def test_what_the_drafts_nearest_posts_link_to_is_suggested(write_posts, encoder):
    from blogrec.corpus import load_corpus, parse_draft
    from blogrec.features import Features
    from blogrec.link_suggestions import LinkSuggester
    from blogrec.links import link_graph

    bread = ("Feed the sourdough starter with rye flour and water; the levain doubles "
             "overnight and the dough proofs slowly. ")
    root = write_posts({
        "starter.md": f"---\ntitle: Sourdough starter\n---\n{bread * 3}Then bake: "
                      "[temperatures](oven.md).\n",
        "levain.md": f"---\ntitle: A stiff levain\n---\n{bread * 2}See [oven](oven.md).\n",
        "oven.md": "---\ntitle: Oven heat\n---\nPreheat the cast iron pot for an hour; a "
                   "thermometer shows when the stone is ready.\n",
        **{f"other-{i}.md": f"---\ntitle: Note {i}\n---\n{topic}\n" for i, topic in enumerate([
            "Tomato seedlings need light and warmth in spring.",
            "A bicycle chain wants oil after rain.",
            "Knitting a scarf with two colours of wool.",
            "The train timetable changes in December.",
        ])},
    })
    posts = load_corpus(root).posts
    features = Features(posts, encoder)
    draft = root.parent / "draft.md"
    draft.write_text(f"---\ntitle: My first loaf\n---\n{bread}\n", encoding="utf-8")
    post, _ = parse_draft(draft)
    oven = next(i for i, p in enumerate(posts) if p.slug == "oven")

    def rank_of_oven(suggester):
        return [s["index"] for s in suggester.suggest(post)].index(oven)

    with_links = LinkSuggester(k=7).fit(features, link_graph(posts).undirected())
    without = LinkSuggester(k=7, citation_weight=0).fit(features)
    assert rank_of_oven(with_links) == 2  # right after the two bread posts
    assert rank_of_oven(without) > 2
