"""Using a tag model: suggestions for a draft or a new text, and every post's suggested
missing tags for the site (`tag_suggestions`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..corpus import TAG_FIELDS, Post, parse_draft
from ..taxonomy import TagVocabulary
from ..work import Runner, in_order
from .base import TagMethod
from .drafts import draft_result, text_suggestions
from .hygiene import find_duplicate_tags
from .names import NameMatches
from .stacked import BlogrecTags


class NoTagsError(ValueError):
    """The blog has no tags to suggest from."""


NO_TAGS_MESSAGE = f"no post of this blog has tags (looked at {', '.join(TAG_FIELDS)})"


def has_tags(posts: Sequence[Post]) -> bool:
    return any(p.tags for p in posts)


def suggest_for_text(post: Post, features: Any, k: int = 5,
                     suggester: TagMethod | None = None) -> list[dict[str, Any]]:
    """Top-k tags (blog spelling) for a post that is not in the blog; existing tags flagged.

    suggester: a fitted method (default: `blogrec` fitted on all of `features.posts`).
    Tags already on the post stay in the ranking, marked "on_post": true.
    """
    model = suggester or BlogrecTags().fit(features)
    row = model.scores(features, posts=[post])[0]
    return text_suggestions(post, row, model.vocab_, k)


def suggest_for_draft(path: str | Path, features: Any, k: int = 5,
                      suggester: TagMethod | None = None) -> dict[str, Any]:
    """Suggested tags for a draft file (see `corpus.parse_draft` and `suggest_for_text`).

    Returns {"path", "title", "warning" (None or text), "tags" (the draft's own tags, in
    the blog's spelling when the blog knows them), "suggestions" [{"tag", "score",
    "on_post"}], "method", "model" ("fitted": by this call or the caller; a saved
    model's `drafts.DraftModel.suggest_for_draft` says "saved")}. NoTagsError if no post
    of the blog has a tag.
    """
    if suggester is None and not has_tags(features.posts):
        raise NoTagsError(NO_TAGS_MESSAGE)
    post, warning = parse_draft(path)
    model = suggester or BlogrecTags().fit(features)
    return draft_result(path, post, warning, model.vocab_,
                        suggest_for_text(post, features, k, model), model.name, "fitted")


@dataclass
class TagSuggestions:
    """Every post's suggested missing tags, and what else tags.json shows
    (`outputs.tags_payload`)."""

    method: str
    vocab: TagVocabulary  # the blog's tags, with their post counts
    suggestions: list[list[tuple[int, float]]]  # per post: (vocab column, score)
    duplicates: list[dict[str, Any]]  # `find_duplicate_tags`
    folds: int | None = None  # the cross-fitting's folds
    note: str | None = None  # why there is nothing to suggest
    model: BlogrecTags | None = None  # the fitted model (None: nothing to suggest)


def tag_suggestions(features: Any, k: int = 5, root: str | Path | None = None,
                    run: Runner = in_order, tagger: BlogrecTags | None = None,
                    name_matches: NameMatches | None = None) -> TagSuggestions:
    """Up to k suggested missing tags of each post: its 5-fold cross-fitted scores (base
    models that never saw the post; only the six fusion weights are shared), so a post's
    tags never leak into its own suggestions; and the duplicate tags (root: the blog
    directory, for the written spellings).

    tagger: a fitted `BlogrecTags` (default: one fitted here on every post, with
    `name_matches` if already computed). run: how the independent pieces (fold moments,
    fold models, score blocks, the duplicate search) are run, e.g. shared with a second
    thread; `run(pieces)` returns their results in order. The result does not depend on
    who runs which piece.
    """
    posts = features.posts
    if tagger is None and not has_tags(posts):
        return TagSuggestions(BlogrecTags.name, TagVocabulary.from_posts([]),
                              [[] for _ in posts], [], note=NO_TAGS_MESSAGE)
    duplicates = partial(find_duplicate_tags, posts, root)
    if tagger is None:
        tagger = BlogrecTags().start(features, name_matches=name_matches)
        # the duplicate search (pure Python) last: whichever thread is free takes it
        first = run([*tagger.fold_moments_work(), duplicates])
        found = first.pop()
        tagger.finish(run(tagger.fold_model_work(first)))
        blocks = run(tagger.suggestion_blocks(k))
    else:
        *blocks, found = run([*tagger.suggestion_blocks(k), duplicates])
    return TagSuggestions(tagger.name, tagger.vocab_, tagger.assemble_suggestions(blocks),
                          found, folds=tagger.folds, model=tagger)
