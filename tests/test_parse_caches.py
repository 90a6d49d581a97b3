"""The parsed-post and clean-text caches: a blog read (cleaned) through them is the blog
read (cleaned) without them (posts, warnings, rejected files), a corrupt or stale cache
is ignored and rebuilt, and an unchanged file is not parsed (cleaned) again."""

from __future__ import annotations

from blogrec.corpus import PostCache, load_corpus
from blogrec.features import Features
from blogrec.text.clean import CleanCache, clean_markdown, lexical_text

from .conftest import SAMPLE_BLOG, post

BLOG = {
    "a.md": post("Alpha", extra="date: not a date\nslug: [1, 2]\n"),
    "b.md": post("Beta", tags="[python, Python]", body="# Head\n\nText.\n"),
    "c.md": post("Gamma", extra="draft: true\n"),
    "broken.md": "no front matter\n",
    "post.fr.md": post("Un billet"),
}


def read(root, cache=None):
    corpus = load_corpus(root, cache=cache)
    if cache is not None:
        cache.save()
    return corpus


def test_a_cached_read_is_the_read_without_cache(write_posts, tmp_path):
    root = write_posts(BLOG)
    plain = read(root)
    assert plain.warnings and plain.rejected and plain.skipped
    first = PostCache(tmp_path / "c", "v1")
    assert read(root, first) == plain
    assert first.misses == 4  # every file but the broken one, which is never cached
    second = PostCache(tmp_path / "c", "v1")
    assert read(root, second) == plain  # the same warnings and rejections too
    assert second.misses == 0


def test_the_sample_blog_reads_the_same_from_the_cache(tmp_path):
    plain = read(SAMPLE_BLOG)
    read(SAMPLE_BLOG, PostCache(tmp_path, "v1"))
    again = PostCache(tmp_path, "v1")
    assert read(SAMPLE_BLOG, again) == plain
    assert again.misses == 0


def test_an_edited_file_is_parsed_again_and_only_it(write_posts, tmp_path):
    root = write_posts({"a.md": post("Alpha"), "b.md": post("Beta")})
    read(root, PostCache(tmp_path / "c", "v1"))
    (root / "b.md").write_text(post("Beta, edited"), encoding="utf-8")
    cache = PostCache(tmp_path / "c", "v1")
    corpus = read(root, cache)
    assert [p.title for p in corpus.posts] == ["Alpha", "Beta, edited"]
    assert cache.misses == 1
    assert len(PostCache(tmp_path / "c", "v1").entries) == 2  # the old b.md is dropped


def test_a_corrupt_or_stale_cache_is_ignored_and_rebuilt(write_posts, tmp_path, caplog):
    root = write_posts(BLOG)
    plain = read(root)
    cache = PostCache(tmp_path / "c", "v1")
    read(root, cache)
    data = cache.path.read_bytes()
    cache.path.write_bytes(data[:-10])  # truncated
    assert read(root, PostCache(tmp_path / "c", "v1")) == plain
    assert "ignoring parsed-post cache" in caplog.text
    assert PostCache(tmp_path / "c", "v1").entries  # rewritten whole
    stale = PostCache(tmp_path / "c", "v2")  # another version of the code
    assert not stale.entries
    assert read(root, stale) == plain
    assert PostCache(tmp_path / "c", "v2").entries


def test_the_key_holds_the_settings(write_posts, tmp_path):
    root = write_posts({"a.md": post("Alpha", extra="topics: [x]\n")})
    read(root, PostCache(tmp_path / "c", "v1"))
    corpus = load_corpus(root, taxonomy=["topics"], cache=PostCache(tmp_path / "c", "v1"))
    assert corpus.posts[0].tags == ("x",)


def test_cleaned_texts_come_from_the_cache_and_are_the_same(tmp_path):
    posts = load_corpus(SAMPLE_BLOG).posts
    plain = [lexical_text(p) for p in posts]
    first = Features(posts, None, str(tmp_path))
    assert first.clean_texts == plain
    first.save_cache()
    again = Features(posts, None, str(tmp_path))
    assert again.clean_texts == plain
    assert again.clean_cache.misses == 0
    stale = CleanCache(tmp_path, "another version")
    assert not stale.entries
    assert stale.clean_markdown(posts[0].body) == clean_markdown(posts[0].body)
    assert stale.misses == 1
