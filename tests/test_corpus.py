"""Reading a blog: front-matter conventions, headings, tags and bad input."""

from __future__ import annotations

from blogrec.corpus import display_forms, load_corpus, parse_date, tag_key
from blogrec.markup import extract_headings
from blogrec.text.clean import clean_markdown

from .conftest import SAMPLE_BLOG, post


def by_path(corpus):
    return {p.path: p for p in corpus.posts}


def reasons(corpus):
    return {r.path: r.reason for r in corpus.rejected}


# ------------------------------------------------------------ conventions


def test_dates_in_every_common_form(write_posts):
    root = write_posts({
        "hexo.md": post(extra='date: "2021/09/01 00:00:00"\n'),
        "hexo-time.md": post(extra='date: "2021/09/01 10:30:00"\n'),
        "iso.md": post(extra="date: 2021-09-01T10:00:00+09:00\n"),
        "yaml-date.md": post(extra="date: 2021-09-01\n"),
        "2020-05-06-from-name.md": post(),
        "2020-5-7-short-name.md": post(),
        "nodate.md": post(),
    })
    posts = by_path(load_corpus(root))
    assert posts["hexo.md"].date == "2021-09-01"
    assert posts["hexo-time.md"].date == "2021-09-01T10:30:00"
    assert posts["iso.md"].date == "2021-09-01T10:00:00+09:00"
    assert posts["yaml-date.md"].date == "2021-09-01"
    assert posts["2020-05-06-from-name.md"].date == "2020-05-06"
    assert posts["2020-5-7-short-name.md"].date == "2020-05-07"
    assert posts["nodate.md"].date is None


def test_a_date_that_is_not_a_date_is_a_warning_not_a_rejection(write_posts):
    root = write_posts({"2019-01-02-x.md": post(extra="date: next tuesday-ish\n")})
    corpus = load_corpus(root)
    assert corpus.posts[0].date == "2019-01-02"  # falls back to the file name
    assert "not a date" in corpus.warnings[0].reason


def test_parse_date_rejects_garbage():
    assert parse_date("2021-13-45") is None
    assert parse_date("") is None
    assert parse_date(["2021-01-01"]) is None


def test_tags_categories_lede_slug_and_url_conventions(write_posts):
    root = write_posts({
        "jekyll.md": "---\ntitle: J\ntags: [a, b]\ncategories: [x]\nexcerpt: the excerpt\n"
                     "permalink: /2021/j/\n---\nbody\n",
        "hexo.md": "---\ntitle: H\ntag: single\ncategory: cat\nlede: the lede\n---\nbody\n",
        "zenn.md": "---\ntitle: Z\ntopics: [rust, go]\n---\nbody\n",
        "hugo.md": "---\ntitle: G\ntags: [a]\ndescription: the description\nslug: custom\n"
                   "url: /g/\n---\nbody\n",
        "summary.md": "---\ntitle: S\nsummary: the summary\n---\nbody\n",
    })
    posts = by_path(load_corpus(root))
    assert posts["jekyll.md"].tags == ("a", "b")
    assert posts["jekyll.md"].categories == ("x",)
    assert posts["jekyll.md"].lede == "the excerpt"
    assert posts["jekyll.md"].url == "/2021/j/"
    assert posts["hexo.md"].tags == ("single",)
    assert posts["hexo.md"].categories == ("cat",)
    assert posts["hexo.md"].lede == "the lede"
    assert posts["zenn.md"].tags == ("rust", "go")
    assert posts["hugo.md"].slug == "custom"
    assert posts["hugo.md"].lede == "the description"
    assert posts["hugo.md"].url == "/g/"
    assert posts["summary.md"].lede == "the summary"
    assert posts["summary.md"].slug == "summary"


def test_slug_drops_the_date_prefix_of_the_file_name(write_posts):
    root = write_posts({"2021-09-01-hello-world.md": post()})
    assert load_corpus(root).posts[0].slug == "hello-world"


def test_drafts_and_unpublished_posts_are_skipped_not_rejected(write_posts):
    root = write_posts({
        "a.md": post(extra="draft: true\n"),
        "b.md": post(extra="published: false\n"),
        "c.md": post(extra="draft: false\n"),
    })
    corpus = load_corpus(root)
    assert [p.path for p in corpus.posts] == ["c.md"]
    assert {s.path for s in corpus.skipped} == {"a.md", "b.md"}
    assert corpus.rejected == []


def test_scans_recursively_for_md_and_markdown_only(write_posts):
    root = write_posts({
        "2021/a.md": post(), "2022/deep/b.markdown": post(), "notes.txt": "x",
        ".hidden/c.md": post(),
    })
    assert sorted(p.path for p in load_corpus(root).posts) == ["2021/a.md", "2022/deep/b.markdown"]


# ------------------------------------------------------------ tags


def test_tags_match_case_insensitively_and_show_the_most_frequent_spelling(write_posts):
    root = write_posts({
        "a.md": post(tags="[JavaScript]"),
        "b.md": post(tags="[' javascript ']"),
        "c.md": post(tags="[JavaScript, JAVASCRIPT]"),
    })
    corpus = load_corpus(root)
    assert [p.tags for p in corpus.posts] == [("JavaScript",)] * 3


def test_tag_key_and_display_form_ties():
    assert tag_key(" Node.JS ") == tag_key("node.js")
    assert tag_key("ＪａｖａＳｃｒｉｐｔ") == tag_key("javascript")
    # equal counts: the smallest string wins, so the choice does not depend on file order
    assert display_forms([["Go"], ["go"]]) == {"go": "Go"}


def test_numeric_tags_become_strings(write_posts):
    root = write_posts({"a.md": post(tags="[2020, python]")})
    assert load_corpus(root).posts[0].tags == ("2020", "python")


# ------------------------------------------------------------ headings


def test_headings_atx_setext_and_html_but_never_inside_code():
    body = "\n".join([
        "intro",
        "## Install **fast**",
        "",
        "```sh",
        "# not a heading",
        "## nor this",
        "```",
        "",
        "Setext Title",
        "============",
        "",
        "Second `setext`",
        "---",
        "",
        "~~~",
        "# still code",
        "~~~",
        "### [Linked](https://example.com) heading ###",
        "<h2>Raw <em>HTML</em></h2>",
        "#hashtag is not a heading",
    ])
    assert extract_headings(body) == (
        "Install fast", "Setext Title", "Second setext", "Linked heading", "Raw HTML",
    )


def test_thematic_break_after_blank_line_is_not_a_heading():
    assert extract_headings("para\n\n---\n\nmore") == ()


def test_clean_markdown_removes_code_html_links_and_urls():
    body = (
        "See [the docs](https://example.com/docs) and https://example.org/x.\n"
        "```python\nimport secret_module\n```\n"
        "<div class='x'>Text</div> `inline_code`\n"
        "[ref]: https://example.com/ref\n"
    )
    text = clean_markdown(body)
    assert "the docs" in text and "Text" in text
    for gone in ("https://", "example.org", "secret_module", "inline_code", "<div", "class"):
        assert gone not in text


# ------------------------------------------------------------ bad input


def test_bad_files_are_rejected_with_reasons_and_good_files_go_on(write_posts):
    root = write_posts({
        "good.md": post(title="Good"),
        "bom.md": b"\xef\xbb\xbf" + post(title="Bom").encode(),
        "crlf.md": post(title="Crlf", body="## Head\r\nline\r\n").replace("\n", "\r\n").encode(),
        "malformed.md": "---\ntitle: [unclosed\n---\nbody\n",
        "nofm.md": "# Just markdown\n",
        "latin1.md": post(title="caf\xe9").encode("latin-1"),
        "empty.md": "",
        "notitle.md": "---\ntags: [a]\n---\nbody\n",
        "badtags.md": "---\ntitle: T\ntags: {a: 1}\n---\nbody\n",
        "nested.md": "---\ntitle: T\ntags: [[a, b]]\n---\nbody\n",
        "unclosed.md": "---\ntitle: T\nbody without end\n",
        "dup-a.md": post(extra="slug: same\n"),
        "dup-b.md": post(extra="slug: same\n"),
    })
    corpus = load_corpus(root)
    ok = sorted(p.path for p in corpus.posts)
    # tags of the wrong shape cost the tags, not the post
    assert ok == ["badtags.md", "bom.md", "crlf.md", "dup-a.md", "good.md", "nested.md"]
    assert by_path(corpus)["badtags.md"].tags == by_path(corpus)["nested.md"].tags == ()
    warned = {w.path: w.reason for w in corpus.warnings}
    assert warned["badtags.md"] == ("'tags' must be a list of strings or a string, got "
                                    "mapping; the field is ignored")
    assert warned["nested.md"] == "'tags' entries must be strings; dropped 1 list"
    why = reasons(corpus)
    assert "malformed YAML" in why["malformed.md"]
    assert "no front matter" in why["nofm.md"]
    assert "UTF-8" in why["latin1.md"] and "0xe9" in why["latin1.md"]
    assert why["empty.md"] == "empty file"
    assert why["notitle.md"] == "missing title"
    assert "never closes" in why["unclosed.md"]
    assert "duplicate slug 'same'" in why["dup-b.md"] and "dup-a.md" in why["dup-b.md"]
    crlf = by_path(corpus)["crlf.md"]
    assert crlf.headings == ("Head",) and "\r" not in crlf.body
    assert by_path(corpus)["bom.md"].title == "Bom"


def test_file_name_slug_reused_on_another_date_is_keyed_by_the_dated_name(write_posts):
    root = write_posts({"2014-08-08-talk.md": post(), "2016-03-28-talk.md": post()})
    corpus = load_corpus(root)
    assert [p.slug for p in corpus.posts] == ["talk", "2016-03-28-talk"]
    assert corpus.rejected == [] and "taken" in corpus.warnings[0].reason


def test_sample_blog_reads_cleanly():
    corpus = load_corpus(SAMPLE_BLOG)
    assert corpus.rejected == []
    assert len(corpus.posts) >= 60
    assert all(p.tags and p.title and p.date for p in corpus.posts)
    assert sum(1 for p in corpus.posts if p.headings) >= 55
    assert len(corpus.skipped) == 1


# ------------------------------------------------------------ hostile YAML


def billion_laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "---\ntitle: x\n" + "\n".join(lines) + "\n---\nbody\n"


def test_yaml_alias_bomb_is_rejected_fast(write_posts):
    import time

    root = write_posts({"bomb.md": billion_laughs(20), "ok.md": post()})
    start = time.perf_counter()
    corpus = load_corpus(root)
    assert time.perf_counter() - start < 5
    assert "aliases" in reasons(corpus)["bomb.md"]
    assert [p.path for p in corpus.posts] == ["ok.md"]


def test_yaml_anchors_in_moderation_are_fine(write_posts):
    root = write_posts({"a.md": "---\ntitle: &t Hello\nlede: *t\n---\nbody\n"})
    assert load_corpus(root).posts[0].lede == "Hello"


def test_python_object_tags_never_run_code(write_posts, tmp_path):
    marker = tmp_path / "pwned"
    root = write_posts({
        "evil.md": f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\n---\n",
        "evil2.md": "---\ntitle: !custom x\n---\n",
    })
    why = reasons(load_corpus(root))
    assert "constructor" in why["evil.md"] and "evil2.md" in why
    assert not marker.exists()


def test_duplicate_keys_warn_and_keep_the_last_value(write_posts):
    root = write_posts({"a.md": "---\ntitle: first\ntitle: second\n---\nbody\n"})
    corpus = load_corpus(root)
    assert corpus.posts[0].title == "second"
    assert "duplicate key 'title'" in corpus.warnings[0].reason


def test_deeply_nested_front_matter_is_rejected(write_posts):
    root = write_posts({"deep.md": "---\ntitle: x\ny: " + "[" * 5000 + "]" * 5000 + "\n---\n"})
    assert "nested" in reasons(load_corpus(root))["deep.md"]


def test_html_entities_in_titles_become_characters(write_posts):
    root = write_posts({"a.md": post(title="'Tom &#038; Jerry &amp; &lt;b&gt;'")})
    assert load_corpus(root).posts[0].title == "Tom & Jerry & <b>"


def test_hugo_toml_front_matter_is_read_like_yaml(write_posts):
    root = write_posts({
        "toml.md": '+++\ntitle = "Garlic in autumn"\ndate = 2024-10-01T09:30:00+02:00\n'
                   'tags = ["garden", "garlic"]\nslug = "garlic"\n+++\n\nPlant the cloves.\n',
        "broken.md": '+++\ntitle = "No end"\n\nBody.\n',
        "bad.md": '+++\ntitle = \n+++\nBody.\n',
    })
    corpus = load_corpus(root)
    [p] = corpus.posts
    assert (p.slug, p.title, p.date, p.tags) == (
        "garlic", "Garlic in autumn", "2024-10-01T09:30:00+02:00", ("garden", "garlic"))
    assert p.body.strip() == "Plant the cloves."
    why = {r.path: r.reason for r in corpus.rejected}
    assert why["broken.md"] == "front matter never closes (no second '+++' line)"
    assert why["bad.md"].startswith("malformed TOML front matter")


def test_blank_lines_before_the_front_matter_are_skipped_as_hugo_does(write_posts):
    root = write_posts({"late.md": "\n  \n" + post(title="Late start")})
    assert [p.title for p in load_corpus(root).posts] == ["Late start"]
