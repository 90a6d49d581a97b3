"""Topic clusters of a blog: spherical k-means, tag names, a Ward dendrogram and a map.

The study's recipe (REFERENCE.md, section 5), made deterministic:

1. Spherical k-means (faiss) on the L2-normalised post embeddings, k = 10 by default
   (clamped to the number of posts), a fixed seed and several restarts. Clusters are
   renumbered canonically (size descending, then the smallest member index), so the same
   input always gives the same ids, 1..k.
2. Optionally k is chosen from a range: the k with the highest mean cosine silhouette
   (scikit-learn) wins; ties (equal to 4 decimals) go to the smaller k.
3. Names: a tag's vector is the normalised mean of the embeddings of the posts carrying
   it; a cluster is named by the 3 tags whose vectors are closest (cosine) to its
   centroid. Tags on a single post are left out when the blog has tags on >= 2 posts
   (a one-post tag's vector *is* that post, so it would name clusters after one post).
   A blog without tags gets the most distinctive title terms, or "cluster N".
4. Ward hierarchical clustering of the normalised centroids. Ward needs Euclidean
   geometry; for unit vectors |a - b| = sqrt(2 - 2 cos), so Euclidean Ward on the
   normalised centroids *is* Ward on cosine geometry. Leaves are put in scipy's optimal
   leaf order (adjacent leaves as similar as possible).
5. Quality: NMI between the clusters and each post's most frequent tag, against a
   random assignment with the same cluster sizes and against plain k-means.

`cluster_posts` is the entry point; `outputs.clusters_payload` gives site_data/clusters.json
and `figures.report_section` the clusters part of the report's `data`.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
from scipy.spatial.distance import pdist
from sklearn.metrics import normalized_mutual_info_score as nmi
from sklearn.metrics import silhouette_score

from .corpus import Post
from .store import round_score
from .vectors import normalize_rows

log = logging.getLogger(__name__)

DEFAULT_K = 10
DEFAULT_SEED = 0
NITER = 50
NREDO = 8  # restarts; faiss keeps the run with the best objective
TRAIN_PER_CENTROID = 2000
NAME_TAGS = 3
REPRESENTATIVES = 4
MIN_TAG_POSTS = 2
RANDOM_RUNS = 20
K_CRITERION = "mean cosine silhouette (scikit-learn); highest wins, ties -> smaller k"

# ---------------------------------------------------------------- k-means


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Relabel 0..m-1 by size descending, then by smallest member index (empty ids vanish)."""
    labels = np.asarray(labels)
    ids = np.unique(labels)
    order = sorted(ids, key=lambda c: (-int(np.sum(labels == c)), int(np.argmax(labels == c))))
    remap = {int(c): i for i, c in enumerate(order)}
    return np.array([remap[int(c)] for c in labels], dtype=np.int64)


def cluster_centroids(vectors: np.ndarray, labels: np.ndarray, spherical: bool = True
                      ) -> np.ndarray:
    """Mean of each cluster's members (0..max label), normalised when spherical."""
    k = int(labels.max()) + 1 if len(labels) else 0
    c = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    np.add.at(c, labels, vectors.astype(np.float64))
    c /= np.maximum(np.bincount(labels, minlength=k), 1)[:, None]
    return normalize_rows(c) if spherical else c.astype(np.float32)


def kmeans(vectors: np.ndarray, k: int, seed: int = DEFAULT_SEED, spherical: bool = True,
           niter: int = NITER, nredo: int = NREDO) -> np.ndarray:
    """Canonical labels (n,) of faiss k-means; k is clamped to [1, n]."""
    x = normalize_rows(vectors) if spherical else np.ascontiguousarray(vectors, np.float32)
    n, d = x.shape
    k = max(1, min(int(k), n))
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    km = faiss.Kmeans(
        d, k, niter=niter, nredo=nredo, spherical=spherical, seed=seed,
        # No warning for few points per centroid. A blog of up to k x TRAIN_PER_CENTROID
        # posts is clustered on all of them; a larger one trains on a seeded sample of that
        # many (faiss's own subsampling) and every post is then assigned: 100k posts in
        # seconds instead of ~100 s.
        min_points_per_centroid=1, max_points_per_centroid=TRAIN_PER_CENTROID,
    )
    # One thread: on blog-sized data OpenMP's spin-waiting made k-means ~20x slower on a
    # busy 2-core machine, and a single thread is bit-for-bit reproducible.
    prev = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        km.train(x)
        _, assigned = km.assign(x)  # max inner product (spherical) or min L2
    finally:
        faiss.omp_set_num_threads(prev)
    return canonical_labels(assigned)


def choose_k(vectors: np.ndarray, k_range: Sequence[int], seed: int = DEFAULT_SEED
             ) -> tuple[int, dict[int, float]]:
    """The k of k_range with the highest mean cosine silhouette (ties: the smaller k)."""
    x = normalize_rows(vectors)
    n = len(x)
    scores: dict[int, float] = {}
    for k in sorted({int(k) for k in k_range}):
        if not 2 <= k <= n - 1:  # silhouette is defined for 2..n-1 clusters only
            continue
        labels = kmeans(x, k, seed)
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = round(float(silhouette_score(x, labels, metric="cosine")), 4)
    if not scores:
        return max(1, min(DEFAULT_K, n)), scores
    best = max(scores.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return best, scores


# ---------------------------------------------------------------- names


def tag_vectors(posts: Sequence[Post], vectors: np.ndarray, min_posts: int = MIN_TAG_POSTS
                ) -> tuple[list[str], np.ndarray]:
    """(tags, unit vectors): each tag's normalised mean of its posts' unit embeddings.

    Tags on fewer than `min_posts` posts are dropped unless no tag reaches it.
    """
    x = normalize_rows(vectors)
    members: dict[str, list[int]] = {}
    for i, p in enumerate(posts):
        for t in p.tags:
            members.setdefault(t, []).append(i)
    tags = sorted(t for t, m in members.items() if len(m) >= min_posts)
    if not tags:
        tags = sorted(members)
    if not tags:
        return [], np.zeros((0, x.shape[1]), dtype=np.float32)
    mat = np.stack([x[members[t]].mean(axis=0) for t in tags])
    return tags, normalize_rows(mat)


def name_by_tags(centroids: np.ndarray, tags: Sequence[str], tag_matrix: np.ndarray,
                 n: int = NAME_TAGS) -> list[list[str]]:
    """Per centroid, the n tags with the highest cosine (ties: tag order)."""
    if not len(tags):
        return [[] for _ in range(len(centroids))]
    sims = normalize_rows(centroids) @ tag_matrix.T
    # A stable sort on -sim keeps ties in the (sorted) tag order: deterministic.
    return [[tags[j] for j in np.argsort(-row, kind="stable")[:n]] for row in sims]


_TERM = re.compile(r"[A-Za-z][A-Za-z0-9+#.\-]*[A-Za-z0-9+#]|[A-Za-z]|[ァ-ヴー]{2,}|[一-龯々]{2,}")
_STOP = frozenset(
    "a an and are as at be by for from how in is it of on or the this to we with what why "
    "you your our new using use part".split()
)


def name_by_titles(posts: Sequence[Post], labels: np.ndarray, n: int = NAME_TAGS
                   ) -> list[list[str]]:
    """Fallback names: the title terms most distinctive of each cluster (share x idf)."""
    terms = [
        {t.lower() if t.isascii() else t for t in _TERM.findall(p.title)} - _STOP
        for p in posts
    ]
    df = Counter(t for ts in terms for t in ts)
    total = len(posts)
    names: list[list[str]] = []
    for c in range(int(labels.max()) + 1 if len(labels) else 0):
        idx = np.flatnonzero(labels == c)
        tf = Counter(t for i in idx for t in terms[i])
        scored = sorted(
            ((cnt / len(idx)) * math.log(1 + total / df[t]), t)
            for t, cnt in tf.items() if cnt >= min(2, len(idx))
        )
        names.append([t for _, t in sorted(scored, key=lambda s: (-s[0], s[1]))[:n]])
    return names


def display_name(names: Sequence[str], cluster_id: int) -> str:
    return ", ".join(names) if names else f"cluster {cluster_id}"


def _date_key(date: str | None) -> tuple[int, str]:
    # ISO strings sort by time on their first 10 characters; undated posts come last.
    return (0, "") if date is None else (1, date[:10] + date)


# ---------------------------------------------------------------- Ward


def ward_linkage(centroids: np.ndarray) -> np.ndarray:
    """Ward linkage (k-1, 4) of the normalised centroids, in optimal leaf order.

    Euclidean distance between unit vectors is sqrt(2 - 2 cos), so this is Ward on
    cosine geometry.
    """
    c = normalize_rows(centroids).astype(np.float64)
    if len(c) < 2:
        return np.zeros((0, 4))
    y = pdist(c, metric="euclidean")
    z = linkage(y, method="ward")
    return optimal_leaf_ordering(z, y)


def leaf_order(z: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in leaves_list(z)] if len(z) else list(range(k))


# ---------------------------------------------------------------- quality


def most_frequent_tags(posts: Sequence[Post]) -> list[str | None]:
    """Each post's tag that is most frequent in the blog (ties: smallest); None if untagged."""
    freq = Counter(t for p in posts for t in p.tags)
    return [min(p.tags, key=lambda t: (-freq[t], t)) if p.tags else None for p in posts]


def quality(posts: Sequence[Post], labels: np.ndarray, vectors: np.ndarray, k: int,
            seed: int = DEFAULT_SEED, runs: int = RANDOM_RUNS) -> dict[str, Any]:
    """NMI of the clusters with each post's most frequent tag, and two baselines."""
    ref = most_frequent_tags(posts)
    keep = np.array([r is not None for r in ref], dtype=bool)
    out: dict[str, Any] = {
        "reference": "each post's most frequent tag (posts without tags excluded)",
        "metric": "normalized mutual information (arithmetic mean), 0 = none, 1 = identical",
        "posts_scored": int(keep.sum()),
    }
    if keep.sum() < 2:
        out.update(nmi=None, random_nmi=None, random_nmi_std=None, plain_kmeans_nmi=None)
        return out
    truth = [r for r in ref if r is not None]
    own = labels[keep]
    rng = np.random.default_rng(seed)
    # Same cluster sizes, members shuffled: what chance alone scores.
    rand = [nmi(truth, rng.permutation(own)) for _ in range(runs)]
    plain = kmeans(vectors, k, seed, spherical=False)
    out.update(
        nmi=round_score(nmi(truth, own)),
        random_nmi=round_score(float(np.mean(rand))),
        random_nmi_std=round_score(float(np.std(rand))),
        random_runs=runs,
        plain_kmeans_nmi=round_score(nmi(truth, plain[keep])),
    )
    return out


# ---------------------------------------------------------------- result


@dataclass
class Cluster:
    id: int  # 1..k
    name_tags: list[str]
    members: list[int]  # post indices, ascending
    representatives: list[tuple[int, float]]  # (post index, cosine to centroid), best first
    newest: int | None  # post index of the newest dated member (None if none is dated)

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def name(self) -> str:
        return display_name(self.name_tags, self.id)


@dataclass
class ClusterResult:
    k: int
    labels: np.ndarray  # (n,) 0-based; cluster id = label + 1
    centroids: np.ndarray  # (k, d) unit rows, row i = cluster id i + 1
    clusters: list[Cluster]
    linkage: np.ndarray  # (k-1, 4) scipy linkage; leaf i = cluster id i + 1
    leaf_order: list[int]  # 0-based leaf indices, left to right
    quality: dict[str, Any]
    seed: int
    name_source: str  # "tags", "titles" or "none"
    k_requested: int
    k_scores: dict[int, float] = field(default_factory=dict)  # when k was chosen
    k_criterion: str = K_CRITERION  # how k was chosen, when it was


def cluster_posts(posts: Sequence[Post], vectors: np.ndarray, k: int = DEFAULT_K,
                  k_range: Sequence[int] | None = None, seed: int = DEFAULT_SEED
                  ) -> ClusterResult:
    """Cluster the posts; `k_range` (e.g. range(5, 21)) chooses k by cosine silhouette."""
    x = normalize_rows(vectors)
    n = len(posts)
    if n == 0 or len(x) != n:
        raise ValueError(f"need one vector per post (got {len(x)} vectors for {n} posts)")
    k_scores: dict[int, float] = {}
    if k_range is not None:
        k, k_scores = choose_k(x, k_range, seed)
    labels = kmeans(x, k, seed)
    k_eff = int(labels.max()) + 1
    cents = cluster_centroids(x, labels)

    tags, tmat = tag_vectors(posts, x)
    if tags:
        names, source = name_by_tags(cents, tags, tmat), "tags"
    else:
        names, source = name_by_titles(posts, labels), "titles"
        if not any(names):
            source = "none"

    clusters: list[Cluster] = []
    for c in range(k_eff):
        members = np.flatnonzero(labels == c)
        sims = x[members] @ cents[c]
        best = np.argsort(-sims, kind="stable")[:REPRESENTATIVES]
        dated = [int(i) for i in members if posts[i].date]
        newest = max(dated, key=lambda i: (_date_key(posts[i].date), -i)) if dated else None
        clusters.append(Cluster(
            id=c + 1, name_tags=names[c], members=[int(i) for i in members],
            representatives=[(int(members[j]), float(sims[j])) for j in best], newest=newest,
        ))
    z = ward_linkage(cents)
    return ClusterResult(
        k=k_eff, labels=labels, centroids=cents, clusters=clusters, linkage=z,
        leaf_order=leaf_order(z, k_eff), quality=quality(posts, labels, x, k_eff, seed),
        seed=seed, name_source=source, k_requested=int(k), k_scores=k_scores,
    )


# ---------------------------------------------------------------- JSON


# ---------------------------------------------------------------- fonts and drawing


