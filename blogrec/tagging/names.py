"""Tag names in texts: does a post's title or text name a tag (`Node.js`, `設定`)?"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from ..taxonomy import TagVocabulary

FIELDS = ("title", "text")


def _canon(text: str) -> str:
    """NFKC, casefolded, every run of non-word characters one space, padded by spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " " + " ".join(re.findall(r"\w+", text)) + " "


def tag_patterns(key: str) -> tuple[str, ...]:
    """Substrings of `_canon(text)` that mean the tag's name occurs in the text.

    `Node.js` occurs as "node.js", "node js" or "nodejs"; word tags must match whole
    words; a tag written in CJK script matches anywhere (no spaces between words).
    """
    words = re.findall(r"\w+", key)
    if not words:
        return ()
    if any(re.search(r"[^\x00-\x7f]", w) for w in words):
        return (" ".join(words), "".join(words)) if len(words) > 1 else (words[0],)
    variants = {" " + " ".join(words) + " ", " " + "".join(words) + " "}
    return tuple(sorted(variants))


def lexical_matches(texts: Sequence[str], keys: Sequence[str]) -> np.ndarray:
    """(len(texts), len(keys)) bool: does the tag's name occur in the text (as
    `tag_patterns` defines it)."""
    out = np.zeros((len(texts), len(keys)), dtype=bool)
    rows, cols = _match_pairs([_canon(t) for t in texts], keys)
    out[rows, cols] = True
    return out


def _match_pairs(canon: Sequence[str], keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(text rows, key columns) of every match of a key's name in a `_canon` text."""
    # Word tags: a pattern " a b " or " ab " occurs in the padded canonical text exactly
    # when the words a, b are consecutive words of it, or "ab" is one of its words; so
    # look the text's word n-grams up in a table instead of testing every tag.
    phrases: dict[tuple[str, ...], list[int]] = {}
    substrings: list[tuple[int, tuple[str, ...]]] = []
    for j, key in enumerate(keys):
        pats = tag_patterns(key)
        if not pats:
            continue
        if pats[0].startswith(" "):
            for p in pats:
                phrases.setdefault(tuple(p.split()), []).append(j)
        else:
            substrings.append((j, pats))
    first = {p[0] for p in phrases}
    longest = max((len(p) for p in phrases), default=0)
    rows: list[int] = []
    cols: list[int] = []
    for i, text in enumerate(canon):
        hits: set[int] = set()
        words = text.split()
        for a, w in enumerate(words):
            if w not in first:
                continue
            for n in range(1, min(longest, len(words) - a) + 1):
                hit = phrases.get(tuple(words[a : a + n]))
                if hit:
                    hits.update(hit)
        for j, pats in substrings:  # CJK names: anywhere, no word boundaries
            if any(p in text for p in pats):
                hits.add(j)
        rows.extend([i] * len(hits))
        cols.extend(sorted(hits))
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


def _field_texts(features: Any, field: str) -> list[str]:
    if field == "title":
        return [p.title for p in features.posts]
    if field == "text":
        return features.clean_texts
    raise ValueError(f"field must be one of {FIELDS}, not {field!r}")


def match_field(features: Any, field: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """key -> the sorted rows of the posts whose title or text (`field`) names the tag."""
    todo = list(dict.fromkeys(keys))
    rows, cols = _match_pairs([_canon(t) for t in _field_texts(features, field)], todo)
    order = np.lexsort((rows, cols))
    rows, cols = rows[order], cols[order]
    bounds = np.searchsorted(cols, np.arange(len(todo) + 1))
    return {key: rows[bounds[c] : bounds[c + 1]] for c, key in enumerate(todo)}


@dataclass(frozen=True)
class NameMatches:
    """Which of a blog's posts name each tag, in the title and in the text: a value
    computed once (`fit`) and passed to the tag models that need it.

    The matching is pure Python (it holds the GIL: ~15 s at 100k posts), so a caller
    with a second thread computes it there, beside numpy work, and hands it in."""

    n_posts: int
    by_field: dict[str, dict[str, np.ndarray]]  # field -> tag key -> post rows

    @classmethod
    def fit(cls, features: Any, keys: Sequence[str] | None = None) -> NameMatches:
        """The matches of `keys` (default: every tag of the blog) in every post."""
        if keys is None:
            keys = TagVocabulary.from_posts(features.posts).keys
        return cls(len(features.posts), {f: match_field(features, f, keys) for f in FIELDS})

    def missing(self, keys: Sequence[str]) -> list[str]:
        """The keys of `keys` not matched yet (in order, each once)."""
        return [k for k in dict.fromkeys(keys)
                if any(k not in self.by_field[f] for f in FIELDS)]

    def merged(self, by_field: dict[str, dict[str, np.ndarray]]) -> NameMatches:
        """These matches and `by_field`'s (more keys, same posts), as a new value."""
        return NameMatches(self.n_posts, {f: {**self.by_field[f], **by_field.get(f, {})}
                                          for f in FIELDS})

    def matrix(self, field: str, keys: Sequence[str]) -> sparse.csr_matrix:
        """(n_posts, len(keys)) sparse bool: does post i's `field` name tag keys[j]."""
        memo = self.by_field[field]
        rows = [memo[k] for k in keys]
        cols = np.repeat(np.arange(len(keys)), [len(r) for r in rows])
        data = np.ones(len(cols), dtype=bool)
        flat = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        return sparse.csr_matrix((data, (flat, cols)), shape=(self.n_posts, len(keys)))


def prepare_name_matches(features: Any) -> NameMatches:
    """`NameMatches.fit` of every blog tag: what the build computes on its second thread
    and passes to the tag model's fit."""
    return NameMatches.fit(features)
