"""Topic clusters: determinism, names, Ward geometry, quality, and Japanese plot labels."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.cluster.hierarchy import is_valid_linkage, leaves_list, linkage, optimal_leaf_ordering
from scipy.spatial.distance import squareform

from blogrec import clusters as C
from blogrec import figures as F
from blogrec import outputs as O
from blogrec.corpus import Post, load_corpus
from blogrec.vectors import normalize_rows

from .conftest import SAMPLE_BLOG

JAPANESE_LABEL = "日本語のタグ、ブックマークレット"


def make_post(i: int, tags: tuple[str, ...] = (), date: str | None = None) -> Post:
    return Post(path=f"p{i}.md", slug=f"p{i}", title=f"Post {i}", date=date, tags=tags)


def blobs(n_per: int = 12, centres: int = 4, d: int = 16, seed: int = 0) -> np.ndarray:
    """Tight groups of unit vectors around orthogonal directions."""
    rng = np.random.default_rng(seed)
    base = np.eye(d)[:centres]
    x = np.concatenate([b + 0.15 * rng.standard_normal((n_per, d)) for b in base])
    return normalize_rows(x)


@pytest.fixture(scope="module")
def sample(encoder, tmp_path_factory):
    from blogrec.features import Features

    corpus = load_corpus(SAMPLE_BLOG)
    cache = str(tmp_path_factory.mktemp("cache"))
    vectors = Features(corpus.posts, encoder, cache).use()
    return corpus.posts, vectors, C.cluster_posts(corpus.posts, vectors)


# ---------------------------------------------------------------- k-means


def test_same_input_same_clusters_and_canonical_numbering():
    x = blobs()
    posts = [make_post(i) for i in range(len(x))]
    a = C.cluster_posts(posts, x, k=4)
    b = C.cluster_posts(posts, x, k=4)
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.linkage, b.linkage)
    sizes = [c.size for c in a.clusters]
    assert sizes == sorted(sizes, reverse=True)
    # Equal sizes: numbered by their smallest member.
    firsts = [c.members[0] for c in a.clusters]
    assert firsts == sorted(firsts)
    # Each blob is one cluster.
    for c in a.clusters:
        assert len({i // 12 for i in c.members}) == 1


def test_canonical_labels_orders_by_size_then_first_member():
    assert C.canonical_labels(np.array([5, 5, 2, 2, 2, 9])).tolist() == [1, 1, 0, 0, 0, 2]
    assert C.canonical_labels(np.array([3, 1, 1, 3])).tolist() == [0, 1, 1, 0]


def test_k_is_clamped_for_tiny_blogs():
    x = blobs(n_per=1, centres=3)
    posts = [make_post(i, ("a",)) for i in range(3)]
    r = C.cluster_posts(posts, x, k=10)
    assert r.k == 3 and sorted(r.labels.tolist()) == [0, 1, 2]
    assert r.linkage.shape == (2, 4)
    one = C.cluster_posts(posts[:1], x[:1], k=10)
    assert one.k == 1 and one.linkage.shape == (0, 4) and one.leaf_order == [0]
    payload = O.clusters_payload(one, posts[:1])
    assert payload["clusters"][0]["members"] == ["p0"]
    assert F.dendrogram_svg(one).startswith("<svg")


def test_choose_k_by_silhouette_picks_the_true_number_of_groups():
    x = blobs(n_per=10, centres=4)
    k, scores = C.choose_k(x, range(2, 8))
    assert k == 4 and scores[4] == max(scores.values())
    r = C.cluster_posts([make_post(i) for i in range(len(x))], x, k_range=range(2, 8))
    assert r.k == 4 and r.k_scores == scores


# ---------------------------------------------------------------- names


def test_names_are_the_nearest_tag_vectors():
    e = np.eye(4, dtype=np.float32)
    # Tag vectors (means of their posts): "a" = e0, "b" = e1, "c" = (e0 + e2) / |.|,
    # "d" = e3; a centroid near e0 + 0.3 e2 is nearest to a, then c, then b/d.
    posts = [make_post(0, ("a", "c")), make_post(1, ("a",)), make_post(2, ("b",)),
             make_post(3, ("b", "d")), make_post(4, ("c",)), make_post(5, ("d",))]
    vectors = np.stack([e[0], e[0], e[1], e[1], e[2], e[3]])
    tags, tmat = C.tag_vectors(posts, vectors)
    assert tags == ["a", "b", "c", "d"]
    np.testing.assert_allclose(tmat[2], normalize_rows((e[0] + e[2])[None])[0], atol=1e-6)
    names = C.name_by_tags(np.array([[1.0, 0, 0.3, 0], [0, 0.2, 0, 1.0]]), tags, tmat)
    assert names[0][:2] == ["a", "c"]
    assert names[1][:2] == ["d", "b"]


def test_one_post_tags_do_not_name_clusters_when_others_exist():
    posts = [make_post(0, ("common", "rare")), make_post(1, ("common",))]
    tags, _ = C.tag_vectors(posts, np.eye(2))
    assert tags == ["common"]


def test_blog_without_tags_gets_title_names_or_numbers():
    x = blobs(n_per=3, centres=2, d=4)
    titles = ["Rust tips", "Rust async", "Rust macros", "Cooking rice", "Cooking eggs",
              "Cooking pasta"]
    posts = [Post(path=f"{i}.md", slug=f"s{i}", title=t, date=None)
             for i, t in enumerate(titles)]
    r = C.cluster_posts(posts, x, k=2)
    assert r.name_source == "titles"
    assert {r.clusters[0].name_tags[0], r.clusters[1].name_tags[0]} == {"rust", "cooking"}
    assert C.display_name([], 7) == "cluster 7"
    assert all(c.newest is None for c in r.clusters)


def test_representatives_and_newest_post():
    x = blobs(n_per=6, centres=2, d=8)
    dates = [None, "2020-01-01", "2021-05-01T10:00:00+09:00", "2019-01-01", None, "2021-05-01"]
    posts = [make_post(i, ("t",), dates[i % 6]) for i in range(12)]
    r = C.cluster_posts(posts, x, k=2)
    for c in r.clusters:
        assert len(c.representatives) == 4
        scores = [s for _, s in c.representatives]
        assert scores == sorted(scores, reverse=True)
        best = max(float(x[i] @ r.centroids[c.id - 1]) for i in c.members)
        assert scores[0] == pytest.approx(best, abs=1e-5)
        assert posts[c.newest].date == "2021-05-01T10:00:00+09:00"


# ---------------------------------------------------------------- Ward


def test_ward_equals_scipy_ward_on_cosine_geometry_with_optimal_leaf_order():
    rng = np.random.default_rng(3)
    cents = rng.standard_normal((9, 12))
    z = C.ward_linkage(cents)
    u = cents / np.linalg.norm(cents, axis=1, keepdims=True)
    cos = np.clip(u @ u.T, -1, 1)
    dist = np.sqrt(np.maximum(2 - 2 * cos, 0))
    np.fill_diagonal(dist, 0)
    y = squareform(dist, checks=False)
    expected = optimal_leaf_ordering(linkage(y, method="ward"), y)
    assert is_valid_linkage(z)
    np.testing.assert_allclose(z, expected, atol=1e-5)
    # Merge heights equal plain Ward's; only the leaf order differs, and it is optimal:
    plain = linkage(y, method="ward")
    np.testing.assert_allclose(np.sort(z[:, 2]), np.sort(plain[:, 2]), atol=1e-5)

    def path_length(order):
        return sum(dist[a, b] for a, b in zip(order[:-1], order[1:], strict=True))

    assert C.leaf_order(z, 9) == leaves_list(expected).tolist()
    assert path_length(leaves_list(z)) <= path_length(leaves_list(plain)) + 1e-9


def test_payload_is_deterministic_json(sample):
    posts, vectors, r = sample
    from blogrec.store import dumps

    p = O.clusters_payload(r, posts)
    assert dumps(p) == dumps(O.clusters_payload(C.cluster_posts(posts, vectors), posts))
    assert p["k"] == 10 and len(p["clusters"]) == 10
    assert sum(c["size"] for c in p["clusters"]) == len(posts)
    assert sorted(s for c in p["clusters"] for s in c["members"]) == sorted(x.slug for x in posts)
    c0 = p["clusters"][0]
    assert len(c0["name_tags"]) == 3 and len(c0["representatives"]) == 4
    assert set(c0["newest"]) == {"slug", "title", "date"}
    rows = p["dendrogram"]["linkage"]
    assert len(rows) == 9 and all(len(row) == 4 for row in rows)
    assert sorted(p["dendrogram"]["leaf_order"]) == list(range(1, 11))


def test_quality_beats_random_on_the_sample_blog(sample):
    _, _, r = sample
    q = r.quality
    assert q["posts_scored"] > 50
    assert q["nmi"] > q["random_nmi"] + 5 * q["random_nmi_std"]
    assert q["plain_kmeans_nmi"] > q["random_nmi"]


def test_map_is_deterministic_and_scaled(sample):
    posts, vectors, r = sample
    a = F.map_points(posts, vectors, r)
    assert a == F.map_points(posts, vectors, r)
    xs = [p["x"] for p in a["points"]]
    assert min(xs) == 0.0 and max(xs) == 1.0 and len(xs) == len(posts)


def test_a_large_blogs_map_shows_a_fixed_sample_and_says_so(sample):
    posts, vectors, r = sample
    a = F.map_points(posts, vectors, r, method="pca", max_points=20)
    shown = [p["slug"] for p in a["points"]]
    assert len(shown) == 20 == len(set(shown))
    assert "20 of 65 posts" in a["method"]
    assert a == F.map_points(posts, vectors, r, method="pca", max_points=20)
    rows = F.map_rows(len(posts), max_points=20)
    assert shown == [posts[i].slug for i in rows]  # the build's background t-SNE uses these


# ---------------------------------------------------------------- Japanese labels


def _need_cjk_font() -> str:
    path = F.cjk_font_path()
    if path is None:
        msg = ("no CJK font: install the `matplotlib-fontja` package (pyproject dependency) "
               "or run scripts/install-system-deps.sh")
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def _render(text: str, size: int = 40) -> np.ndarray:
    """Grey raster of `text` drawn with blogrec's plot fonts (Agg)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context(F.plot_rc()):
        fig = Figure(figsize=(0.8 * max(len(text), 1), 1.0), dpi=50)
        FigureCanvasAgg(fig)
        fig.text(0.02, 0.3, text, fontsize=size)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba())[..., :3].mean(axis=2)


def test_japanese_label_glyphs_are_in_the_registered_font():
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    path = _need_cjk_font()
    family = F.register_cjk_font()
    assert family
    # matplotlib resolves the family name to a file of that family: this one, or the same
    # font installed by the system (apt's fonts-ipaexfont-gothic is IPAexGothic too).
    found = font_manager.findfont(font_manager.FontProperties(family=family),
                                  fallback_to_default=False)
    assert font_manager.FontProperties(fname=found).get_name() == family
    assert F.plot_rc()["font.family"][-1] == family
    for file in {path, found}:
        cmap = TTFont(file, fontNumber=0).getBestCmap()
        missing = [ch for ch in JAPANESE_LABEL if ord(ch) not in cmap]
        assert not missing, f"font {file} lacks {missing}"


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
def test_japanese_label_renders_as_glyphs_not_missing_boxes():
    _need_cjk_font()
    missing_char = "\U000f0000"  # a private-use code point no font here covers: .notdef
    box = _render(missing_char)
    assert (box < 128).any(), "the missing-glyph box itself should draw something"
    for ch in dict.fromkeys(JAPANESE_LABEL):
        glyph = _render(ch)
        assert (glyph < 128).any(), f"{ch!r} drew nothing"
        assert not np.array_equal(glyph, box), f"{ch!r} rendered as the missing-glyph box"
    whole = _render(JAPANESE_LABEL)
    assert not np.array_equal(whole, _render(missing_char * len(JAPANESE_LABEL)))


def test_dendrogram_svg_draws_japanese_names_as_paths():
    _need_cjk_font()
    e = np.eye(3, dtype=np.float32)
    posts = [make_post(0, ("日本語",)), make_post(1, ("日本語",)), make_post(2, ("英語",)),
             make_post(3, ("英語",)), make_post(4, ("数学",)), make_post(5, ("数学",))]
    x = np.stack([e[0], e[0], e[1], e[1], e[2], e[2]])
    r = C.cluster_posts(posts, x, k=3)
    svg = F.dendrogram_svg(r)
    assert svg.startswith("<svg") and "<text" not in svg  # glyphs are outlines
    assert svg == F.dendrogram_svg(r)  # deterministic bytes
    # matplotlib defines each glyph once, as <path id="{postscript name}-{glyph index:x}">:
    # every kanji must be a real glyph of the CJK font (index 0 would be .notdef).
    from fontTools.ttLib import TTFont

    font = TTFont(F.cjk_font_path(), fontNumber=0)
    psname = font["name"].getDebugName(6)
    for ch in "日本語英数学":
        gid = font.getGlyphID(font.getBestCmap()[ord(ch)])
        assert gid != 0 and f'id="{psname}-{gid:x}"' in svg, ch
    assert f'id="{psname}-0"' not in svg
