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

`cluster_posts` is the entry point; `clusters_payload` gives site_data/clusters.json and
`report_section` the clusters part of the report's `data`.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Post
from .export import atomic_write_json, round_score

log = logging.getLogger(__name__)

CLUSTERS_JSON = "clusters.json"
CLUSTERS_SCHEMA = "blogrec/clusters"
CLUSTERS_VERSION = 1
DEFAULT_K = 10
DEFAULT_SEED = 0
NITER = 50
NREDO = 8  # restarts; faiss keeps the run with the best objective
TRAIN_PER_CENTROID = 2000
MAP_MAX_POINTS = 5000
NAME_TAGS = 3
REPRESENTATIVES = 4
MIN_TAG_POSTS = 2
RANDOM_RUNS = 20
K_CRITERION = "mean cosine silhouette (scikit-learn); highest wins, ties -> smaller k"

# A CJK font for plot labels, in order of preference: $BLOGREC_CJK_FONT, the IPAex Gothic
# shipped in the `matplotlib-fontja` wheel (IPA Font License), then Debian's fonts.
CJK_FONT_PACKAGE = "matplotlib_fontja"
CJK_FONT_FILE = "fonts/ipaexg.ttf"
SYSTEM_CJK_FONTS = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
LATIN_FONT = "DejaVu Sans"  # matplotlib's own; the CJK font is the per-glyph fallback


# ---------------------------------------------------------------- k-means


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Unit rows (float32); a zero row stays zero (divide by max(norm, eps))."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)


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
    import faiss

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
    from sklearn.metrics import silhouette_score

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
    from scipy.cluster.hierarchy import linkage, optimal_leaf_ordering
    from scipy.spatial.distance import pdist

    c = normalize_rows(centroids).astype(np.float64)
    if len(c) < 2:
        return np.zeros((0, 4))
    y = pdist(c, metric="euclidean")
    z = linkage(y, method="ward")
    return optimal_leaf_ordering(z, y)


def leaf_order(z: np.ndarray, k: int) -> list[int]:
    from scipy.cluster.hierarchy import leaves_list

    return [int(i) for i in leaves_list(z)] if len(z) else list(range(k))


# ---------------------------------------------------------------- quality


def most_frequent_tags(posts: Sequence[Post]) -> list[str | None]:
    """Each post's tag that is most frequent in the blog (ties: smallest); None if untagged."""
    freq = Counter(t for p in posts for t in p.tags)
    return [min(p.tags, key=lambda t: (-freq[t], t)) if p.tags else None for p in posts]


def quality(posts: Sequence[Post], labels: np.ndarray, vectors: np.ndarray, k: int,
            seed: int = DEFAULT_SEED, runs: int = RANDOM_RUNS) -> dict[str, Any]:
    """NMI of the clusters with each post's most frequent tag, and two baselines."""
    from sklearn.metrics import normalized_mutual_info_score as nmi

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


def _ref(post: Post, score: float | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"slug": post.slug, "title": post.title, "date": post.date}
    if score is not None:
        ref["score"] = round_score(score)
    return ref


def clusters_payload(result: ClusterResult, posts: Sequence[Post]) -> dict[str, Any]:
    """site_data/clusters.json: deterministic (floats rounded to 4 digits)."""
    return {
        "schema": CLUSTERS_SCHEMA,
        "version": CLUSTERS_VERSION,
        "generator": "blogrec",
        "method": "spherical k-means (faiss), cosine",
        "k": result.k,
        "k_requested": result.k_requested,
        "k_choice": (
            {"criterion": K_CRITERION,
             "scores": {str(k): round_score(s) for k, s in sorted(result.k_scores.items())}}
            if result.k_scores else None
        ),
        "seed": result.seed,
        "name_source": result.name_source,
        "clusters": [
            {
                "id": c.id,
                "name": c.name,
                "name_tags": list(c.name_tags),
                "size": c.size,
                "members": [posts[i].slug for i in c.members],
                "representatives": [_ref(posts[i], s) for i, s in c.representatives],
                "newest": _ref(posts[c.newest]) if c.newest is not None else None,
            }
            for c in result.clusters
        ],
        "dendrogram": {
            "method": "Ward on unit centroids (Euclidean = sqrt(2 - 2 cos)), "
                      "optimal leaf ordering",
            "leaf_id": "linkage leaf i is cluster id i + 1; node k + j is row j",
            "linkage": [
                [int(a), int(b), round_score(d), int(cnt)] for a, b, d, cnt in result.linkage
            ],
            "leaf_order": [i + 1 for i in result.leaf_order],
        },
        "quality": result.quality,
    }


def write_clusters(out_dir: str | os.PathLike[str], result: ClusterResult,
                   posts: Sequence[Post]) -> str:
    path = str(Path(out_dir) / CLUSTERS_JSON)
    atomic_write_json(path, clusters_payload(result, posts))
    return path


# ---------------------------------------------------------------- fonts and drawing


def cjk_font_path() -> str | None:
    """Path of a font with Japanese glyphs, or None (see the module's font order)."""
    env = os.environ.get("BLOGREC_CJK_FONT")
    if env and os.path.isfile(env):
        return env
    # find_spec locates the wheel without importing it (its import changes rcParams).
    spec = importlib.util.find_spec(CJK_FONT_PACKAGE)
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidate = os.path.join(loc, CJK_FONT_FILE)
            if os.path.isfile(candidate):
                return candidate
    return next((p for p in SYSTEM_CJK_FONTS if os.path.isfile(p)), None)


@functools.lru_cache(maxsize=1)
def register_cjk_font() -> str | None:
    """Register the CJK font with matplotlib; returns its family name (None: not found)."""
    from matplotlib import font_manager

    path = cjk_font_path()
    if path is None:
        log.warning("no CJK font found: Japanese plot labels will show as boxes "
                    "(pip install matplotlib-fontja, or apt-get install fonts-ipaexfont-gothic)")
        return None
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def plot_rc() -> dict[str, Any]:
    """rcParams for every blogrec plot: Latin font first, CJK font as per-glyph fallback,
    glyphs as SVG paths (the page needs no fonts), deterministic SVG ids and no date."""
    family = [LATIN_FONT]
    cjk = register_cjk_font()
    if cjk:
        family.append(cjk)
    return {"font.family": family, "svg.fonttype": "path", "svg.hashsalt": "blogrec",
            "axes.unicode_minus": False}


def _svg_string(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    # Inline use: drop the XML prolog and doctype, keep the <svg> element.
    return svg[svg.index("<svg"):]


def _truncate(text: str, limit: int = 56) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def leaf_label(cluster: Cluster) -> str:
    return f"{cluster.id}. {_truncate(cluster.name)} ({cluster.size})"


def dendrogram_svg(result: ClusterResult) -> str:
    """The Ward dendrogram as an SVG string; leaves labelled with the cluster names."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from scipy.cluster.hierarchy import dendrogram

    labels = [leaf_label(c) for c in result.clusters]
    with rc_context(plot_rc()):
        fig = Figure(figsize=(8.5, 0.9 + 0.42 * max(result.k, 2)))
        ax = fig.add_subplot()
        if len(result.linkage):
            # Root on the left, leaves on the right: horizontal labels never overlap.
            dendrogram(result.linkage, ax=ax, labels=labels, orientation="left",
                       color_threshold=0, above_threshold_color="#4a5568",
                       leaf_font_size=11)
            ax.set_xlabel("Ward merge distance (unit centroids, sqrt(2 - 2 cos))")
        else:
            ax.text(0.5, 0.5, labels[0] if labels else "no clusters", ha="center",
                    va="center", fontsize=11)
            ax.set_xticks([])
            ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0)
        fig.tight_layout()
        return _svg_string(fig)


def map_coordinates(vectors: np.ndarray, seed: int = DEFAULT_SEED, method: str = "tsne"
                    ) -> tuple[np.ndarray, str]:
    """(n, 2) coordinates for the map and the method used: t-SNE on cosine distances
    (fixed random_state, PCA init), or PCA for tiny blogs and method="pca"."""
    x = normalize_rows(vectors).astype(np.float64)
    n = len(x)
    if n < 3:
        return np.zeros((n, 2)), "none"
    if method == "tsne" and n >= 10:
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        tsne = TSNE(n_components=2, metric="cosine", init="pca", random_state=seed,
                    perplexity=float(min(30.0, (n - 1) / 3)), max_iter=500)
        # One thread: OpenMP on a busy 2-core machine made t-SNE ~4x slower (70 s -> 18 s
        # for 750 posts); 500 iterations settle a blog-sized map.
        with threadpool_limits(1):
            return tsne.fit_transform(x), "t-SNE (cosine)"
    from sklearn.decomposition import PCA

    return PCA(n_components=2, svd_solver="full").fit_transform(x), "PCA"


def map_rows(n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The posts the map shows: all of them, or a fixed random sample of MAP_MAX_POINTS
    on a larger blog (t-SNE of 100k points takes many minutes, and a page of 100k points
    is neither light nor readable)."""
    if n <= MAP_MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAP_MAX_POINTS, replace=False))


def map_points(posts: Sequence[Post], vectors: np.ndarray, result: ClusterResult,
               seed: int = DEFAULT_SEED, method: str = "tsne",
               coordinates: tuple[np.ndarray, str] | None = None) -> dict[str, Any]:
    """The report's map section: coordinates scaled to [0, 1], one point per post shown
    (`map_rows`).

    coordinates: `map_coordinates(vectors[map_rows(n, seed)], seed, method)` if already
    computed (the build runs the t-SNE beside the other steps)."""
    rows = map_rows(len(posts), seed)
    xy, used = coordinates if coordinates is not None else map_coordinates(
        np.asarray(vectors)[rows], seed, method)
    if len(rows) < len(posts):
        used = f"{used}; {len(rows):,} of {len(posts):,} posts, a fixed random sample"
    if len(rows):
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        xy = (xy - lo) / np.where(hi - lo > 0, hi - lo, 1.0)
    return {
        "method": used,
        "points": [
            {"slug": posts[i].slug, "title": posts[i].title,
             "cluster": int(result.labels[i]) + 1,
             "x": round_score(xy[r, 0]), "y": round_score(xy[r, 1])}
            for r, i in enumerate(rows)
        ],
    }


def report_section(result: ClusterResult, posts: Sequence[Post], vectors: np.ndarray,
                   map_method: str = "tsne",
                   coordinates: tuple[np.ndarray, str] | None = None) -> dict[str, Any]:
    """The clusters part of report.write_report's `data`: clusters, dendrogram_svg, map
    (`coordinates`: see `map_points`)."""
    return {
        "clusters": clusters_payload(result, posts),
        "dendrogram_svg": dendrogram_svg(result),
        "map": map_points(posts, vectors, result, result.seed, map_method, coordinates),
    }
