"""The tag model a build saves for `blogrec suggest-tags`: used when it matches the blog,
with the suggestions a fit gives; refitted, and said so, when it does not."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_limits

from blogrec.build import BuildConfig
from blogrec.build.config import cache_namespace
from blogrec.cli import main
from blogrec.corpus import load_corpus, parse_draft
from blogrec.features import Features
from blogrec.tagging import BlogrecTags, blog_fingerprint, load_tag_model, tag_model_path

from .conftest import SAMPLE_BLOG

DRAFTS = Path(__file__).parent / "fixtures" / "drafts"
JA_DRAFT = DRAFTS / "ja-postgresql-index.md"
EN_DRAFT = DRAFTS / "en-pytest-fixtures.md"


def build(posts: Path, root: Path, *extra: str) -> tuple[Path, str]:
    """`blogrec build POSTS` into root/{site,reports,cache}: (the cache dir, its output)."""
    cache = root / "cache"
    result = CliRunner().invoke(main, [
        "-q", "build", str(posts), "--out", str(root / "site"), "--reports",
        str(root / "reports"), "--cache-dir", str(cache), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return cache, result.output


def suggest_tags(draft: Path, posts: Path, cache: Path):
    """`blogrec suggest-tags DRAFT POSTS --json`: (its JSON, its stderr)."""
    result = CliRunner().invoke(main, ["-q", "suggest-tags", str(draft), str(posts),
                                       "--json", "--cache-dir", str(cache)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def saved_model_file(cache: Path, posts: Path = SAMPLE_BLOG) -> Path:
    return tag_model_path(cache, cache_namespace(BuildConfig(posts_dir=str(posts))))


@pytest.fixture(scope="module")
def built(sample_site) -> Path:
    """The cache directory of the sample blog's shared build, which saved its tag model."""
    assert str(saved_model_file(sample_site.cache)) in sample_site.result.outputs  # with the rest
    return sample_site.cache


def a_copy(cache: Path, tmp_path: Path) -> Path:
    """Another cache directory with the same files (to spoil one without a rebuild)."""
    return Path(shutil.copytree(cache, tmp_path / "cache"))


@pytest.mark.parametrize("draft", [JA_DRAFT, EN_DRAFT])
def test_after_a_build_suggest_tags_uses_the_saved_model(built, draft, tmp_path):
    saved, saved_err = suggest_tags(draft, SAMPLE_BLOG, built)
    assert saved["model"] == "saved" and "note:" not in saved_err

    # Without it (an empty cache), the model is fitted: the same suggestions, to the
    # fourth decimal the command prints, and a note says why it fitted.
    fitted, fitted_err = suggest_tags(draft, SAMPLE_BLOG, tmp_path / "empty-cache")
    assert fitted["model"] == "fitted"
    assert "note: no saved tag model matches this blog (none saved yet" in fitted_err
    assert {**fitted, "model": "saved"} == saved
    assert len(saved["suggestions"]) == 5


def test_the_saved_models_scores_are_a_fresh_fits_to_the_bit(built, encoder):
    corpus = load_corpus(SAMPLE_BLOG)
    config = BuildConfig(posts_dir=str(SAMPLE_BLOG), cache_dir=str(built))
    features = Features(corpus.posts, encoder, config.cache_dir,
                        namespace=cache_namespace(config))  # the build's vectors
    with threadpool_limits(limits=1, user_api="blas"):  # as the build fits
        fitted = BlogrecTags().fit(features)
    loaded = load_tag_model(saved_model_file(built), blog_fingerprint(SAMPLE_BLOG),
                            encoder.model_id)
    assert loaded.reason is None
    drafts = [parse_draft(p)[0] for p in sorted(DRAFTS.glob("*.md"))]
    new_posts = drafts + corpus.posts[::5]  # the blog's own posts, read as new texts

    def embed(texts):  # as the fitted model embeds new posts
        return features.embed(texts)

    assert np.array_equal(loaded.model.scores(new_posts, embed),
                          fitted.scores(features, posts=new_posts))
    assert loaded.model.vocab.keys == fitted.vocab_.keys


def test_after_editing_a_post_suggest_tags_refits_and_says_so(tmp_path):
    posts = Path(shutil.copytree(SAMPLE_BLOG, tmp_path / "posts"))
    cache, _ = build(posts, tmp_path)
    assert suggest_tags(EN_DRAFT, posts, cache)[0]["model"] == "saved"

    edited = sorted(posts.glob("*.md"))[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nOne more line.\n",
                      encoding="utf-8")
    out, err = suggest_tags(EN_DRAFT, posts, cache)
    assert out["model"] == "fitted"
    assert "the blog changed since the build that saved it" in err

    build(posts, tmp_path)  # the next build saves the model of the edited blog
    assert suggest_tags(EN_DRAFT, posts, cache)[0]["model"] == "saved"


@pytest.mark.parametrize(("spoil", "why"), [
    (lambda data: data[:-1] + bytes([data[-1] ^ 0x01]), "unreadable: checksum mismatch"),
    (lambda data: data[: len(data) // 2], "unreadable: checksum mismatch"),
    (lambda data: b"not a tag model\n", "unreadable: not a BLOGREC-TAG-MODEL file"),
    (lambda data: data.replace(b"BLOGREC-TAG-MODEL 1", b"BLOGREC-TAG-MODEL 9", 1),
     "written by another file format (9)"),
], ids=["a-flipped-byte", "truncated", "another-file", "another-format"])
def test_a_spoilt_saved_model_is_ignored_with_the_refit_note(built, tmp_path, caplog,
                                                             spoil, why):
    cache = a_copy(built, tmp_path)
    path = saved_model_file(cache)
    path.write_bytes(spoil(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="blogrec.tagging.saved"):
        out, err = suggest_tags(EN_DRAFT, SAMPLE_BLOG, cache)
    assert out["model"] == "fitted" and why in err
    assert f"ignoring saved tag model {path}" in caplog.text


def test_a_model_saved_with_another_encoder_is_not_used(built):
    loaded = load_tag_model(saved_model_file(built), blog_fingerprint(SAMPLE_BLOG),
                            "some-other-encoder")
    assert loaded.model is None and loaded.reason == "encoder"
    assert "for the encoder use-multilingual" in loaded.why


def test_a_no_cache_build_saves_no_tag_model(tmp_path):
    cache, output = build(SAMPLE_BLOG, tmp_path, "--no-cache")
    assert not cache.exists() and ".tags" not in output
