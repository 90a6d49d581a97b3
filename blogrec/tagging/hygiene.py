"""Tag clean-up: probable duplicate tags (spellings, separators, typos, overlap)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scipy import sparse

from ..corpus import Post, PostError, decode, parse_post, tag_key
from ..taxonomy import TagVocabulary


def loose_key(tag: str) -> str:
    """`tag_key` without separators: "Node.js", "node-js" and "nodejs" collide."""
    return "".join(re.findall(r"[^\W_]+", tag_key(tag)))


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def raw_tag_spellings(root: str | Path, posts: Sequence[Post]) -> dict[str, Counter[str]]:
    """tag_key -> Counter of the spellings written in the posts' front matter.

    `load_corpus` merges spellings into one display form and keeps the written ones in
    `Post.written_tags`; posts made without them (no written tags but some tags) are
    re-read from `root`.
    """
    out: dict[str, Counter[str]] = {}
    for p in posts:
        written = p.written_tags
        if p.tags and not written:
            try:
                raw, _, _ = parse_post(decode((Path(root) / p.path).read_bytes()), p.path)
            except (OSError, PostError, RecursionError):
                continue
            written = raw.tags
        for t in written:
            out.setdefault(tag_key(t), Counter())[t.strip()] += 1
    return out


def find_duplicate_tags(posts: Sequence[Post], root: str | Path | None = None,
                        min_jaccard: float = 0.8, min_support: int = 3) -> list[dict[str, Any]]:
    """Probable duplicate tags, each with evidence.

    kinds: "case" (one tag written in several spellings in the front matter; needs `root`
    to re-read them), "separator" (same letters once spaces, hyphens and dots are
    dropped: "Node.js" / "nodejs"), "edit-distance" (1 edit for names of 5+ letters, 2 for
    10+; names with digits are skipped as versions), "overlap" (posts nearly the same:
    Jaccard >= min_jaccard, both on >= min_support posts).
    """
    vocab = TagVocabulary.from_posts(posts)
    counts = dict(zip(vocab.keys, vocab.counts.astype(int).tolist(), strict=True))
    disp = dict(zip(vocab.keys, vocab.display, strict=True))
    y = vocab.matrix(posts).tocsc()
    together = (y.T @ y).tocsr()
    found: list[dict[str, Any]] = []

    def pair(a: int, b: int, kind: str, **extra: Any) -> dict[str, Any]:
        ka, kb = vocab.keys[a], vocab.keys[b]
        inter = int(together[a, b])  # sparse lookup
        union = counts[ka] + counts[kb] - inter
        return {"tags": [disp[ka], disp[kb]], "kind": kind, "evidence": {
            "posts": {disp[ka]: counts[ka], disp[kb]: counts[kb]},
            "together": inter, "jaccard": round(inter / union, 4) if union else 0.0, **extra}}

    if root is not None:
        for key, spellings in sorted(raw_tag_spellings(root, posts).items()):
            if len(spellings) > 1 and key in disp:
                found.append({"tags": [disp[key]], "kind": "case", "evidence": {
                    "spellings": dict(sorted(spellings.items(), key=lambda kv: -kv[1]))}})
    loose = [loose_key(k) for k in vocab.keys]
    seen: set[tuple[int, int]] = set()
    # Candidate pairs without comparing every pair (thousands of tags on a large blog):
    # two names within `limit` edits share a string made by deleting at most `limit`
    # characters from each (the "symmetric delete" index); each candidate is then checked.
    by_variant: dict[str, list[int]] = {}
    for a, la in enumerate(loose):
        if not la:
            continue
        for v in _deletions(la, 2 if len(la) >= 9 else 1):
            by_variant.setdefault(v, []).append(a)
    candidates = sorted({(a, b) for group in by_variant.values() for i, a in enumerate(group)
                         for b in group[i + 1:]})
    for a, b in candidates:
        la, lb = loose[a], loose[b]
        if la == lb:
            found.append(pair(a, b, "separator"))
            seen.add((a, b))
            continue
        m = min(len(la), len(lb))
        # Names with digits are usually versions (Firefox3 / Firefox4), not typos.
        if m >= 5 and not re.search(r"\d", la + lb):
            limit = 2 if m >= 10 else 1
            d = _edit_distance(la, lb, limit)
            if d <= limit:
                found.append(pair(a, b, "edit-distance", distance=d))
                seen.add((a, b))
    big = vocab.counts >= min_support
    co = sparse.triu(y.T @ y, k=1).tocoo()  # only tags that share a post can overlap
    for a, b, inter in sorted(zip(co.row.tolist(), co.col.tolist(), co.data.tolist(),
                                  strict=True)):
        if not (big[a] and big[b]):
            continue
        union = vocab.counts[a] + vocab.counts[b] - inter
        if union and inter / union >= min_jaccard and (a, b) not in seen:
            found.append(pair(int(a), int(b), "overlap"))
    return found


def _deletions(word: str, depth: int) -> set[str]:
    """`word` and every string made by deleting up to `depth` of its characters."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out
