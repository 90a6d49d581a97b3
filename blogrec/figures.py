"""The report's figures of the clusters: the dendrogram (SVG) and the map of the posts
(t-SNE coordinates), with a CJK font so Japanese labels draw as glyphs."""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from scipy.cluster.hierarchy import dendrogram
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from .clusters import DEFAULT_SEED, Cluster, ClusterResult
from .corpus import Post
from .outputs import clusters_payload
from .store import round_score
from .vectors import normalize_rows

log = logging.getLogger(__name__)

MAP_MAX_POINTS = 5000


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
        tsne = TSNE(n_components=2, metric="cosine", init="pca", random_state=seed,
                    perplexity=float(min(30.0, (n - 1) / 3)), max_iter=500)
        # One thread: OpenMP on a busy 2-core machine made t-SNE ~4x slower (70 s -> 18 s
        # for 750 posts); 500 iterations settle a blog-sized map.
        with threadpool_limits(1):
            return tsne.fit_transform(x), "t-SNE (cosine)"
    return PCA(n_components=2, svd_solver="full").fit_transform(x), "PCA"


def map_rows(n: int, seed: int = DEFAULT_SEED, max_points: int = MAP_MAX_POINTS
             ) -> np.ndarray:
    """The posts the map shows: all of them, or a fixed random sample of `max_points`
    on a larger blog (t-SNE of 100k points takes many minutes, and a page of 100k points
    is neither light nor readable)."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def map_points(posts: Sequence[Post], vectors: np.ndarray, result: ClusterResult,
               seed: int = DEFAULT_SEED, method: str = "tsne",
               coordinates: tuple[np.ndarray, str] | None = None,
               max_points: int = MAP_MAX_POINTS) -> dict[str, Any]:
    """The report's map section: coordinates scaled to [0, 1], one point per post shown
    (`map_rows`).

    coordinates: `map_coordinates(vectors[map_rows(n, seed)], seed, method)` if already
    computed (the build runs the t-SNE beside the other steps)."""
    rows = map_rows(len(posts), seed, max_points)
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
