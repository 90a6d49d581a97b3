"""Comparison tables: the published rankings beside every peer and ablation, on tag Dice
(related posts) and on a temporal hold-out (tag suggestions)."""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ..corpus import tag_key, tag_sets
from ..features import Features
from ..related import METHODS, related_for
from ..tagging import (
    DEFAULT_TAG_METHOD,
    TAG_METHODS,
    BlogrecTags,
    NameMatches,
    TagVocabulary,
    make_tag_method,
)
from .metrics import METRICS, link_scores, random_score, related_score
from .split import DEFAULT_HOLDOUT, temporal_split

log = logging.getLogger(__name__)

DEFAULT_KS = (1, 3, 5, 10)
# What `blogrec evaluate` ranks beside the default: the peers a blog owner would install
# instead (`--compare` adds every ablation).
PEERS = ("random", "tfidf", "tfidf-chars", "bm25", "lsi", "tag-overlap", "use-recipe")
# What a build's report ranks beside it.
BUILD_PEERS = ("random", "use-recipe")

def compare_related(
    features: object,
    methods: Sequence[str] | None = None,
    k: int = 4,
    tfhub_handle: str | None = None,
    linked: Sequence[frozenset[int]] | None = None,
    groups: Sequence[Hashable] | None = None,
) -> list[dict]:
    """Score every related-post method on `features` (a blogrec.features.Features),
    each ranking within `groups` as the build does (`related.related_for`).

    One row per method: method, score (related_score; the "random" row is the exact
    expectation from random_score, within `groups` too), seconds (wall time of the
    method including the features it computes first; features shared with an earlier
    row are already memoised), note ("skipped: ..." when a method cannot run). With
    `linked` (each post's linked posts, `links.LinkGraph.undirected`), also `hit@k` and
    `recall@k` (`metrics.link_scores`; the random row's from one seeded random ranking).
    """
    tags = tag_sets(features.posts)  # type: ignore[attr-defined]
    rows: list[dict] = []
    for method in methods or METHODS:
        start = time.perf_counter()
        note = ""
        idx = None
        if method == "random":
            score: float | None = random_score(tags, groups)
            note = "exact expectation"
            if linked is not None:
                idx, _ = related_for(method, features, k, groups)  # type: ignore[arg-type]
        elif method == "use-large" and not tfhub_handle:
            score, note = None, "skipped: no TF Hub handle"
        else:
            idx, _ = related_for(method, features, k, groups,  # type: ignore[arg-type]
                                 tfhub_handle=tfhub_handle)
            score = float(related_score(tags, idx, k))
        row = {"method": method, "score": score,
               "seconds": round(time.perf_counter() - start, 3), "note": note}
        if linked is not None:
            row.update(_link_columns(linked, idx, k))
        rows.append(row)
    return rows


def _link_columns(linked: Sequence[frozenset[int]], idx: np.ndarray | None, k: int
                  ) -> dict[str, float | None]:
    if idx is None:
        return {f"hit@{k}": None, f"recall@{k}": None}
    found = link_scores(linked, idx, k)
    return {f"hit@{k}": found[f"hit@{k}"], f"recall@{k}": found[f"recall@{k}"]}


def evaluate_tags(features: Any, methods: Sequence[str] | None = None,
                  holdout: float = DEFAULT_HOLDOUT, cutoff_date: str | None = None,
                  ks: Sequence[int] = DEFAULT_KS, name_matches: NameMatches | None = None
                  ) -> dict[str, Any]:
    """Temporal-split evaluation of tag methods.

    Every method is fitted on the training posts only; the held-out posts with tags are
    scored; their tags never seen in training stay in the relevant sets (misses).
    Returns {"split": {...counts...}, "ks": [...], "rows": [{"method", "seconds",
    "P@1", ..., "nDCG@10"}, ...]}.
    """
    posts = features.posts
    train, test, undated = temporal_split(posts, holdout, cutoff_date)
    if not train:
        raise ValueError("no training posts before the split")
    vocab = TagVocabulary.from_posts([posts[i] for i in train])
    known = set(vocab.keys)
    scored = [i for i in test if posts[i].tags]
    relevant = [{tag_key(t) for t in posts[i].tags} for i in scored]
    unseen_tags = sorted({t for r in relevant for t in r} - known)
    n_rel = sum(len(r) for r in relevant)
    n_unseen = sum(len(r - known) for r in relevant)
    split = {
        "train_posts": len(train),
        "held_out_posts": len(test),
        "held_out_scored": len(scored),
        "undated_posts": len(undated),
        "train_until": posts[train[-1]].date if train else None,
        "held_out_from": posts[test[0]].date if test else None,
        "train_tags": len(vocab.keys),
        "held_out_tag_assignments": n_rel,
        "unseen_tag_assignments": n_unseen,
        "unseen_tags": len(unseen_tags),
        "unseen_tag_names": unseen_tags,
    }
    rows = []
    kmax = max(ks)
    for name in methods or TAG_METHODS:
        start = time.perf_counter()
        method = make_tag_method(name)
        if isinstance(method, BlogrecTags):  # the blog's name matches, if computed ahead
            method.fit(features, train, vocab=vocab, name_matches=name_matches)
        else:
            method.fit(features, train, vocab=vocab)
        s = method.scores(features, indices=scored) if scored else np.zeros((0, len(known)))
        seconds = time.perf_counter() - start
        ranked = [[vocab.keys[j] for j in np.lexsort((np.arange(len(r)), -vocab.counts,
                                                      -np.round(r, 9)))[:kmax]] for r in s]
        row: dict[str, Any] = {"method": name, "seconds": round(seconds, 2)}
        for metric, fn in METRICS.items():
            for k in ks:
                vals = [fn(rk, rel, k) for rk, rel in zip(ranked, relevant, strict=True)]
                row[f"{metric}@{k}"] = float(np.mean(vals)) if vals else 0.0
        rows.append(row)
    return {"split": split, "ks": list(ks), "rows": rows}


def format_tag_table(result: dict[str, Any], digits: int = 3) -> str:
    """The evaluation as a Markdown table."""
    ks = result["ks"]
    cols = [f"{m}@{k}" for m in METRICS for k in ks]
    lines = ["| method | " + " | ".join(cols) + " | seconds |",
             "|---|" + "---:|" * (len(cols) + 1)]
    for row in result["rows"]:
        vals = " | ".join(f"{row[c]:.{digits}f}" for c in cols)
        lines.append(f"| {row['method']} | {vals} | {row['seconds']:.1f} |")
    return "\n".join(lines)


def evaluate_published(features: Features, idx: np.ndarray, method: str, k: int = 4,
                       tfhub_handle: str | None = None, tag_weight: float = 0.0,
                       compare: bool = False, holdout: float = DEFAULT_HOLDOUT,
                       cutoff: str | None = None, name_matches: NameMatches | None = None,
                       peers: Sequence[str] = BUILD_PEERS, links: dict[str, Any] | None = None,
                       groups: Sequence[Hashable] | None = None,
                       ) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    """Score what a build publishes (`idx`: its related posts, by `method`): beside
    `peers` (with `compare`: beside every peer and ablation), and tag suggestions on a
    temporal hold-out. `tag_weight`: the published ranking blends the posts' own tags
    (its tag Dice is then no fair score). `links`: {"linked": each post's linked posts,
    "coverage": what the link parser found}: every row is also scored on the links (the
    features must then be of the blog with those links hidden). `groups`: what the
    published ranking stayed within (`related.related_for`); every row ranks the same
    way. Returns (related section, tag section, seconds per method)."""
    seconds: dict[str, float] = {}
    tags = tag_sets(features.posts)
    methods = None if compare else peers
    linked = links["linked"] if links else None
    rows = []
    for row in compare_related(features, methods=methods, k=k, tfhub_handle=tfhub_handle,
                               linked=linked, groups=groups):
        seconds[f"related:{row['method']}"] = row.pop("seconds")
        if row["method"] == "use-recipe":
            row["note"] = row["note"] or "the study: USE on title + lede + headings"
        if row["method"] == "tag-overlap":
            row["note"] = row["note"] or "the posts' own tags (a generator's default)"
        if row["method"] != method:
            rows.append(row)
    note = "published" + (" (tags blended in: not a fair score)" if tag_weight else "")
    published = {"method": method, "score": related_score(tags, idx, k), "note": note}
    if linked is not None:
        published.update(_link_columns(linked, idx, k))
    rows.append(published)
    related_eval: dict[str, Any] = {"k": k, "default": method, "rows": rows}
    if links:
        related_eval["links"] = links["coverage"]

    tag_methods = TAG_METHODS if compare else ("popularity", "mean-vector", "blogrec")
    try:
        result = evaluate_tags(features, methods=tag_methods, holdout=holdout,
                               cutoff_date=cutoff, name_matches=name_matches)
    except ValueError as exc:  # e.g. a blog too small or too new to hold posts out
        log.warning("tag evaluation skipped: %s", exc)
        return related_eval, {"metrics": {}, "counts": {}, "raw": None,
                              "notes": {"-": f"not computed: {exc}"}}, seconds
    return related_eval, tag_section(result, seconds), seconds


def tag_section(result: dict[str, Any], seconds: dict[str, float]) -> dict[str, Any]:
    """`evaluate_tags()` as the report's tag table; the (varying) seconds go to
    `seconds` so the report's JSON stays byte-identical."""
    metrics = {}
    for row in result["rows"]:
        seconds[f"tags:{row['method']}"] = row["seconds"]
        metrics[row["method"]] = {k: v for k, v in row.items() if k not in ("method", "seconds")}
    split = result["split"]
    counts = {
        "training posts": split["train_posts"],
        "held-out posts scored": split["held_out_scored"],
        "held-out tag assignments": split["held_out_tag_assignments"],
        "of which tags never seen in training (misses)": split["unseen_tag_assignments"],
    }
    return {"metrics": metrics, "counts": counts, "default": DEFAULT_TAG_METHOD,
            "notes": {"mean-vector": "the study's tag vectors"}, "raw": result}
