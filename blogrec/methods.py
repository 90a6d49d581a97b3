"""The names of the related-post methods and their defaults: what the options, the
reports and the models share, importable without importing the models (so that
`blogrec --help` and the up-to-date check start fast)."""

from __future__ import annotations

DEFAULT_K = 4
METHODS = (
    "random",
    "tfidf",
    "tfidf-chars",
    "bm25",
    "lsi",
    "tag-overlap",
    "use-title",
    "use-title-lede",
    "use-recipe",
    "use-fulltext",
    "use-passages",
    "use-large",
    "blogrec",
)
DEFAULT_METHOD = "blogrec"
# The study's text of a post: title + lede + headings.
RECIPE_FIELDS = ("title", "lede", "headings")
# The sentence encoders (`embeddings.encoders.get_encoder`), the fields of a post's
# embedded text by default and all of them.
ENCODERS = ("use-multilingual", "tfhub")
DEFAULT_FIELDS = ("title", "lede", "headings")
FIELDS = ("title", "lede", "headings", "body")
