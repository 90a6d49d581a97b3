"""Tag suggestions for new posts and for the blog's own posts, and tag clean-up data.

Layout: `vocabulary` (the tags and the post-by-tag matrix), `names` (tag names in
texts), `signals` (one estimator per base signal), `fusion` (their logistic fusion),
`stacked` (the default, `BlogrecTags`), `methods` (the peers, by name), `suggest`
(drafts, texts and every post's suggestions), `hygiene` (duplicate tags).
"""

from ..taxonomy import TagVocabulary, tag_matrix
from .base import TagMethod
from .batch import BLOGREC_FIELDS, Batch, post_text
from .fusion import SIGNALS, Fusion, SignalParts, sigmoid
from .hygiene import find_duplicate_tags, loose_key, raw_tag_spellings
from .methods import (
    DEFAULT_TAG_METHOD,
    TAG_METHODS,
    KnnTags,
    MeanVectorTags,
    PopularityTags,
    TagNameTags,
    TfidfLRTags,
    knn_vote,
    make_tag_method,
)
from .names import NameMatches, lexical_matches, prepare_name_matches, tag_patterns
from .ranking import rank_tags, row_suggestions, top_suggestions
from .signals import KNN_K, KnnVote, MeanVector, NameRates, Prior, Ridge, RidgeMoments
from .stacked import (
    CROSS_FOLDS,
    FUSION_PAIRS,
    KNN_POOL,
    MIN_FUSION_POSTS,
    MIN_STACK_POSTS,
    SCORE_CHUNK,
    BlogrecTags,
    Fold,
    FoldModel,
    fold_plan,
)
from .suggest import (
    NO_TAGS_MESSAGE,
    NoTagsError,
    TagSuggestions,
    has_tags,
    suggest_for_draft,
    suggest_for_text,
    tag_suggestions,
)

__all__ = [
    "BLOGREC_FIELDS", "CROSS_FOLDS", "DEFAULT_TAG_METHOD", "FUSION_PAIRS", "KNN_K",
    "KNN_POOL", "MIN_FUSION_POSTS", "MIN_STACK_POSTS", "NO_TAGS_MESSAGE", "SCORE_CHUNK",
    "SIGNALS", "TAG_METHODS", "Batch", "BlogrecTags", "Fold", "FoldModel", "Fusion",
    "KnnTags", "KnnVote", "MeanVector", "MeanVectorTags", "NameMatches", "NameRates",
    "NoTagsError", "PopularityTags", "Prior", "Ridge", "RidgeMoments", "SignalParts",
    "TagMethod", "TagNameTags", "TagSuggestions", "TagVocabulary", "TfidfLRTags",
    "find_duplicate_tags", "fold_plan", "has_tags", "knn_vote", "lexical_matches",
    "loose_key", "make_tag_method", "post_text", "prepare_name_matches", "rank_tags",
    "raw_tag_spellings", "row_suggestions", "sigmoid", "suggest_for_draft",
    "suggest_for_text", "tag_matrix", "tag_patterns", "tag_suggestions", "top_suggestions",
]
