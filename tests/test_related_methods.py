"""Related-post methods (blogrec.related): invariants and the default's behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from blogrec.corpus import Post
from blogrec.embeddings import USEMultilingual
from blogrec.evaluation.compare import compare_related
from blogrec.features import Features
from blogrec.related import DEFAULT_METHOD, METHODS, related_for
from blogrec.text.tokens import tokenize

TOPICS = {
    "python": ("Python packaging with pip and wheels",
               "virtualenv pip wheel setuptools python interpreter module import"),
    "kubernetes": ("Kubernetes pods and deployments",
                   "kubernetes pod deployment container cluster kubectl node scheduler"),
    "cooking": ("Baking sourdough bread at home",
                "flour water yeast dough oven bake crust loaf sourdough starter"),
    "running": ("Training for a marathon",
                "marathon running pace miles training shoes race endurance stretch"),
}


def _posts(n_per_topic: int = 6, tags: bool = True) -> list[Post]:
    posts = []
    for t, (title, words) in TOPICS.items():
        for i in range(n_per_topic):
            w = words.split()
            body = " ".join(w[(i + j) % len(w)] for j in range(40))
            posts.append(Post(path=f"{t}-{i}.md", slug=f"{t}-{i}", title=f"{title} part {i}",
                              date=None, tags=(t, "blog") if tags else (),
                              lede="", headings=(f"{title} notes",), body=body))
    return sorted(posts, key=lambda p: p.path)


@pytest.fixture(scope="module")
def encoder() -> USEMultilingual:
    return USEMultilingual()


def _topic(p: Post) -> str:
    return p.path.split("-")[0]


@pytest.mark.parametrize("method", [m for m in METHODS if m != "use-large"])
def test_no_self_no_duplicates_and_deterministic(encoder, method):
    posts = _posts()
    idx, scores = related_for(method, Features(posts, encoder), k=4)
    idx2, scores2 = related_for(method, Features(posts, encoder), k=4)
    assert idx.shape == (len(posts), 4) and idx.dtype == np.int64
    assert scores.dtype == np.float32 and np.isfinite(scores).all()
    np.testing.assert_array_equal(idx, idx2)
    np.testing.assert_array_equal(scores, scores2)
    for i, row in enumerate(idx):
        row = [j for j in row if j >= 0]
        assert i not in row and len(set(row)) == len(row) == 4


def test_default_ranks_same_topic_first(encoder):
    posts = _posts()
    idx, _ = related_for(DEFAULT_METHOD, Features(posts, encoder), k=4)
    for i, row in enumerate(idx):
        assert _topic(posts[row[0]]) == _topic(posts[i])
        assert all(_topic(posts[j]) == _topic(posts[i]) for j in row)


def test_default_ranks_the_post_that_shares_a_phrase_first(encoder):
    """Two posts with the same words, title and tags; only the later one shares the
    query's phrase "garbage collection". By the words alone they tie (and a tie goes to
    the earlier post); the default ranks the one with the phrase first."""
    def post(path: str, title: str, body: str) -> Post:
        return Post(path=path, slug=path[:-3], title=title, date=None, tags=("jvm", "blog"),
                    lede="", headings=(), body=body)

    words = "heap metrics tuning latency threads profiler allocation"
    posts = sorted([*_posts(), post("jvm-0-query.md", "JVM memory notes",
                                    f"garbage collection pauses {words}"),
                    post("jvm-1-words.md", "JVM memory tuning",
                         f"collection heap garbage {words}"),
                    post("jvm-2-phrase.md", "JVM memory tuning",
                         f"garbage collection heap {words}")], key=lambda p: p.path)
    at = {p.path: i for i, p in enumerate(posts)}
    query, phrase, words_only = at["jvm-0-query.md"], at["jvm-2-phrase.md"], at["jvm-1-words.md"]
    idx, _ = related_for(DEFAULT_METHOD, Features(posts, encoder), k=4)
    assert list(idx[query][:2]) == [phrase, words_only]
    tfidf, scores = related_for("tfidf", Features(posts, encoder), k=4)
    assert list(tfidf[query][:2]) == [words_only, phrase]
    assert scores[query][0] == pytest.approx(scores[query][1])


def test_default_without_tags_falls_back_to_content(encoder):
    posts = _posts(tags=False)
    f = Features(posts, encoder)
    idx, scores = related_for(DEFAULT_METHOD, f, k=4)
    content, _ = related_for(DEFAULT_METHOD, Features(posts, encoder), k=4, use_tags=False)
    np.testing.assert_array_equal(idx, content)
    assert np.isfinite(scores).all()
    assert all(_topic(posts[row[0]]) == _topic(posts[i]) for i, row in enumerate(idx))


def test_default_candidate_path_equals_exact(encoder):
    posts = _posts()
    full, _ = related_for(DEFAULT_METHOD, Features(posts, encoder), k=4, candidates=10**6)
    few, _ = related_for(DEFAULT_METHOD, Features(posts, encoder), k=4, candidates=8)
    np.testing.assert_array_equal(full, few)  # same-topic posts are in every top-8


def test_empty_text_post_and_tiny_blogs(encoder):
    posts = _posts(3)
    posts.append(Post(path="zz-empty.md", slug="empty", title="", date=None, tags=("blog",)))
    for method in ("tfidf", "lsi", "use-recipe", DEFAULT_METHOD):
        idx, scores = related_for(method, Features(posts, encoder), k=4)
        assert np.isfinite(scores).all() and (idx[-1] >= 0).all()
    one = posts[:1]
    idx, scores = related_for(DEFAULT_METHOD, Features(one, encoder), k=4)
    assert (idx == -1).all() and (scores == 0).all()
    idx, _ = related_for(DEFAULT_METHOD, Features(posts[:3], encoder), k=4)
    assert (idx[:, 2:] == -1).all() and (idx[:, :2] >= 0).all()


def test_compare_related_rows(encoder):
    rows = compare_related(Features(_posts(), encoder),
                           methods=["random", "tfidf", "use-large", "blogrec"])
    by = {r["method"]: r for r in rows}
    assert set(by) == {"random", "tfidf", "use-large", "blogrec"}
    assert by["use-large"]["note"].startswith("skipped") and by["use-large"]["score"] is None
    assert 0 < by["random"]["score"] < by["tfidf"]["score"] <= 1
    assert by["blogrec"]["score"] > by["random"]["score"]
    assert all(r["seconds"] >= 0 for r in rows)


def test_japanese_tokens_drop_function_words():
    toks = tokenize("東京で機械学習のモデルを訓練しました。")
    assert "東京" in toks and "機械" in toks
    assert not {"で", "の", "を", "ました", "。"} & set(toks)


def _many_posts(n: int, seed: int = 5) -> list[Post]:
    """n posts over the four topics, each a seeded mix of its topic's words and others'."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    every = " ".join(w for _, words in TOPICS.values() for w in [words]).split()
    posts = []
    for i in range(n):
        t = names[i % len(names)]
        title, words = TOPICS[t]
        own = words.split()
        body = " ".join(rng.choice(own) if rng.random() < 0.7 else rng.choice(every)
                        for _ in range(30))
        posts.append(Post(path=f"p{i:04d}.md", slug=f"p{i:04d}", title=f"{title} {i}",
                          date=None, tags=(t,), lede=" ".join(rng.choice(own, 6)),
                          headings=(), body=body))
    return posts


def test_large_blog_path_is_deterministic_and_agrees_with_exact(encoder):
    """index="approx" takes the large-blog path (one joint-space candidate list, the USE
    cosine recovered from the joint one, no pair signal); its top-4 matches the exact
    path's without the pair signal."""
    posts = _many_posts(320)
    exact, exact_scores = related_for("blogrec", Features(posts, encoder), index="exact",
                                      pairs=False)
    feats = Features(posts, encoder)
    approx, approx_scores = related_for("blogrec", feats, index="approx")
    again, again_scores = related_for("blogrec", Features(posts, encoder), index="approx")
    np.testing.assert_array_equal(approx, again)
    np.testing.assert_array_equal(approx_scores, again_scores)
    assert [k for k in feats._memo if k[0] == "joint-neighbours"] == [
        ("joint-neighbours", 100, "approx")]
    same = np.mean([len(set(a) & set(e)) / 4 for a, e in zip(approx, exact, strict=True)])
    assert same >= 0.97
    # where both found the same post, they gave it the same fused score
    both = approx == exact
    np.testing.assert_allclose(approx_scores[both], exact_scores[both], atol=1e-4)


def test_neighbours_are_searched_once_and_shared(encoder):
    feats = Features(_many_posts(300), encoder)
    pool_idx, pool_sim = feats.neighbours(40, "approx")
    cand_idx, cand_sim = feats.neighbours(100, "approx")
    assert [k for k in feats._memo if k[0] == "joint-neighbours"] == [
        ("joint-neighbours", 100, "approx")]
    np.testing.assert_array_equal(pool_idx, cand_idx[:, :40])
    # exact neighbours are the brute-force top-m of the joint space, self excluded
    idx, sim = feats.neighbours(5, "exact")
    full = feats.joint @ feats.joint.T
    np.fill_diagonal(full, -np.inf)
    for i in range(0, 300, 37):
        np.testing.assert_allclose(sim[i], np.sort(full[i])[::-1][:5], rtol=1e-5)
        assert set(idx[i]) == set(np.argsort(-full[i], kind="stable")[:5])


@pytest.mark.parametrize("index", ["exact", "approx"])
def test_the_folds_give_the_same_ranking_in_any_order_on_any_thread(encoder, index):
    """The default's folds are independent pieces: run backwards, or shared between two
    threads as the build does, they give the ranking of one thread in order, on both
    the small-blog and the large-blog paths."""
    from concurrent.futures import ThreadPoolExecutor

    from blogrec.build.threads import sharing
    from blogrec.related import BlogrecRelated

    posts = _many_posts(200)
    model = BlogrecRelated(index=index).fit(Features(posts, encoder))
    assert len(model.pieces()) == 5
    alone = model.rank()
    backwards = model.combine([piece() for piece in reversed(model.pieces())])
    with ThreadPoolExecutor(1) as pool:
        shared = related_for("blogrec", Features(posts, encoder), index=index,
                             run=sharing(pool))
    for other in (backwards, shared):
        np.testing.assert_array_equal(other[0], alone[0])
        np.testing.assert_array_equal(other[1], alone[1])
    assert (alone[0] >= 0).all() and (alone[0] != np.arange(200)[:, None]).all()
