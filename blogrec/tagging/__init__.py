"""Tag suggestions for new posts and for the blog's own posts, and tag clean-up data.

Layout: `vocabulary` (the tags and the post-by-tag matrix), `names` (tag names in
texts), `signals` (one estimator per base signal), `fused` (the formula that fuses
them), `fusion` (its weights, learnt), `stacked` (the default, `BlogrecTags`), `methods`
(the peers, by name), `drafts` (posts outside the blog, `DraftModel`), `saved` (the
model the build saves for `blogrec suggest-tags`), `suggest` (drafts, texts and every
post's suggestions), `hygiene` (duplicate tags).

Names load on first use, so that `suggest-tags` with a saved model (`drafts`, `saved`)
does not import scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "TagVocabulary": "..taxonomy", "tag_matrix": "..taxonomy",
    "TagMethod": ".base",
    "BLOGREC_FIELDS": ".batch", "Batch": ".batch", "post_text": ".batch",
    "DraftModel": ".drafts", "FoldModel": ".drafts", "Lexicon": ".drafts",
    "new_post_parts": ".drafts",
    "SIGNALS": ".fused", "SignalParts": ".fused", "sigmoid": ".fused",
    "Fusion": ".fusion",
    "find_duplicate_tags": ".hygiene", "loose_key": ".hygiene",
    "raw_tag_spellings": ".hygiene",
    "DEFAULT_TAG_METHOD": ".methods", "TAG_METHODS": ".methods", "KnnTags": ".methods",
    "MeanVectorTags": ".methods", "PopularityTags": ".methods", "TagNameTags": ".methods",
    "TfidfLRTags": ".methods", "knn_vote": ".methods", "make_tag_method": ".methods",
    "NameMatches": ".names", "lexical_matches": ".names",
    "prepare_name_matches": ".names", "tag_patterns": ".names",
    "rank_tags": ".ranking", "row_suggestions": ".ranking", "top_suggestions": ".ranking",
    "Loaded": ".saved", "TagModelFile": ".saved", "blog_fingerprint": ".saved",
    "load_tag_model": ".saved", "saved_suggestions": ".saved", "tag_model_path": ".saved",
    "KNN_K": ".signals", "KnnVote": ".signals", "MeanVector": ".signals",
    "NameRates": ".signals", "Prior": ".signals",
    "Ridge": "..ridge", "RidgeMoments": "..ridge",
    "CROSS_FOLDS": ".stacked", "FUSION_PAIRS": ".stacked", "KNN_POOL": ".stacked",
    "MIN_FUSION_POSTS": ".stacked", "MIN_STACK_POSTS": ".stacked",
    "SCORE_CHUNK": ".stacked", "BlogrecTags": ".stacked", "Fold": ".stacked",
    "NO_TAGS_MESSAGE": ".suggest", "NoTagsError": ".suggest",
    "TagSuggestions": ".suggest", "has_tags": ".suggest", "suggest_for_draft": ".suggest",
    "suggest_for_text": ".suggest", "tag_suggestions": ".suggest",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)
