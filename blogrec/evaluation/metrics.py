"""Every metric blogrec reports.

Related posts: the reference study's score, log-rank-weighted tag Dice.

For each post p with tags and its ranked related posts q_1..q_k:

    score(p) = sum_r Dice(T_p, T_{q_r}) / log2(r + 1)  /  sum_r 1 / log2(r + 1)

with Dice(A, B) = 2|A & B| / (|A| + |B|) (0 when both are empty), r = 1..k, and a
missing related slot counting as 0. The blog's score is the mean over posts with tags;
it lies in [0, 1].

Related posts against the author's own links: for each post p that links to, or is
linked from, at least one other post (its linked set L_p, the undirected link graph),
with its top-k related posts Q_p:

- hit@k = 1 if Q_p holds any post of L_p, else 0
- recall@k = |Q_p & L_p| / |L_p|

each averaged over those posts.

Tag suggestions, for one post with ranked suggestions s_1..s_n and relevant tag set R
(all tags of the post, including tags that never occur in training, which can only be misses):

- P@k = |{s_1..s_k} & R| / k
- R@k = |{s_1..s_k} & R| / |R|
- AP@k = sum over ranks r <= k where s_r is in R of P@r, divided by min(|R|, k);
  MAP@k is its mean over the scored posts. It is 1 when the first min(|R|, k)
  suggestions are all relevant.
- nDCG@k = DCG@k / IDCG@k with DCG@k = sum over hits at r <= k of 1 / log2(r + 1) and
  IDCG@k the DCG of min(|R|, k) hits at ranks 1, 2, ...
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np

from ..taxonomy import dice, dice_matrix


def rank_weights(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def related_score(
    tags: Sequence[frozenset[str]], neighbours: np.ndarray, k: int = 4
) -> float:
    """Mean log-rank-weighted Dice over posts with tags (see module docstring)."""
    w = rank_weights(k)
    total, counted = 0.0, 0
    for i, t in enumerate(tags):
        if not t:
            continue
        s = sum(
            w[r] * dice(t, tags[j]) for r, j in enumerate(neighbours[i][:k]) if j >= 0
        )
        total += s / w.sum()
        counted += 1
    return total / counted if counted else 0.0


def link_scores(linked: Sequence[frozenset[int]], neighbours: np.ndarray, k: int = 4
                ) -> dict[str, float | int]:
    """{"hit@k", "recall@k", "posts"}: the link measures of the module docstring over
    the posts with a linked post (0.0 when there is none)."""
    hits, recalls = [], []
    for i, links in enumerate(linked):
        if not links:
            continue
        found = len(links.intersection(int(j) for j in neighbours[i][:k] if j >= 0))
        hits.append(found > 0)
        recalls.append(found / len(links))
    return {f"hit@{k}": float(np.mean(hits)) if hits else 0.0,
            f"recall@{k}": float(np.mean(recalls)) if recalls else 0.0,
            "posts": len(hits)}


def random_score(tags: Sequence[frozenset[str]],
                 groups: Sequence[Hashable] | None = None) -> float:
    """Expected score of a uniformly random ranking, computed exactly.

    Under a random ranking every rank holds any other post with equal probability,
    so the expectation is the mean Dice of a post with all others (with `groups`, one
    label per post: the others of its group, from which a ranking within groups draws;
    a post alone in its group scores 0).
    """
    n = len(tags)
    if n < 2:
        return 0.0
    codes: dict[Hashable, int] = {}
    labels = groups if groups is not None else [None] * n
    group = np.array([codes.setdefault(g, len(codes)) for g in labels])
    same = group[:, None] == group[None, :]
    others = same.sum(axis=1) - 1
    vocab = sorted(set().union(*tags))
    col = {t: c for c, t in enumerate(vocab)}
    m = np.zeros((n, len(vocab)), dtype=np.float32)
    for i, t in enumerate(tags):
        for x in t:
            m[i, col[x]] = 1.0
    d = np.where(same, dice_matrix(m), 0.0)
    np.fill_diagonal(d, 0.0)
    has = m.sum(axis=1) > 0
    mean = d.sum(axis=1) / np.maximum(others, 1)
    return float(mean[has].mean()) if has.any() else 0.0


def _hits(ranked: Sequence[str], relevant: Iterable[str], k: int) -> list[bool]:
    rel = set(relevant)
    return [t in rel for t in list(ranked)[:k]]


def precision_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """P@k = relevant among the first k suggestions / k."""
    return sum(_hits(ranked, relevant, k)) / k


def recall_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """R@k = relevant among the first k suggestions / |relevant| (0 if nothing is relevant)."""
    rel = set(relevant)
    return sum(_hits(ranked, rel, k)) / len(rel) if rel else 0.0


def average_precision_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """AP@k = sum of P@r over the ranks r <= k holding a relevant tag, / min(|relevant|, k).

    Example: ranked [a, x, b], relevant {a, b, c}, k = 3: (1/1 + 2/3) / 3 = 0.5556.
    """
    rel = set(relevant)
    if not rel:
        return 0.0
    total, hits = 0.0, 0
    for r, hit in enumerate(_hits(ranked, rel, k), start=1):
        if hit:
            hits += 1
            total += hits / r
    return total / min(len(rel), k)


def ndcg_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """nDCG@k with binary gains: sum of 1/log2(r+1) over hits, / the same for an ideal list."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r, hit in enumerate(_hits(ranked, rel, k), 1) if hit)
    idcg = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(rel), k) + 1))
    return dcg / idcg


METRICS: dict[str, Callable[[Sequence[str], Iterable[str], int], float]] = {
    "P": precision_at_k,
    "R": recall_at_k,
    "MAP": average_precision_at_k,
    "nDCG": ndcg_at_k,
}
