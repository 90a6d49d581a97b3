"""Tag suggestions: metrics, temporal split without leakage, drafts, duplicates, payload."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pytest

from blogrec.corpus import Post, load_corpus
from blogrec.evaluation.compare import evaluate_tags
from blogrec.evaluation.metrics import (
    average_precision_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from blogrec.evaluation.split import temporal_split
from blogrec.features import Features
from blogrec.tags import (
    DEFAULT_TAG_METHOD,
    TAG_METHODS,
    find_duplicate_tags,
    lexical_matches,
    make_tag_method,
    parse_draft,
    suggest_for_draft,
    tags_payload,
)

from .conftest import SAMPLE_BLOG

DRAFTS = Path(__file__).parent / "fixtures" / "drafts"


class HashEncoder:
    """A tiny deterministic bag-of-words encoder, so these tests need no model."""

    model_id = "test-hash-64"

    def encode(self, texts):
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


# ---------------------------------------------------------------- metrics


def test_metrics_on_a_hand_computed_ranking():
    ranked = ["a", "x", "b", "y", "c"]
    rel = {"a", "b", "c", "z"}  # z is never suggested (e.g. a tag unseen in training)
    assert precision_at_k(ranked, rel, 1) == 1.0
    assert precision_at_k(ranked, rel, 3) == pytest.approx(2 / 3)
    assert recall_at_k(ranked, rel, 5) == pytest.approx(3 / 4)
    # AP@3: hits at ranks 1 and 3 -> (1/1 + 2/3) / min(4, 3)
    assert average_precision_at_k(ranked, rel, 3) == pytest.approx((1 + 2 / 3) / 3)
    # AP@5: hits at 1, 3, 5 -> (1 + 2/3 + 3/5) / min(4, 5)
    assert average_precision_at_k(ranked, rel, 5) == pytest.approx((1 + 2 / 3 + 3 / 5) / 4)
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, rel, 3) == pytest.approx(dcg / idcg)


def test_metrics_perfect_and_empty():
    assert average_precision_at_k(["a", "b"], {"a", "b"}, 5) == 1.0
    assert average_precision_at_k(["a", "b", "c"], {"a"}, 3) == 1.0  # min(|R|, k) = 1
    assert ndcg_at_k(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert average_precision_at_k(["x"], set(), 5) == 0.0
    assert recall_at_k(["x"], set(), 5) == 0.0


# ---------------------------------------------------------------- synthetic blog


def _synthetic_posts() -> list[Post]:
    topics = {
        "python": ("Python", "python pandas script interpreter virtualenv"),
        "rust": ("Rust", "rust borrow checker cargo crate lifetime"),
        "css": ("CSS", "css grid flexbox selector stylesheet"),
    }
    posts = []
    for i in range(60):
        key = list(topics)[i % 3]
        tag, words = topics[key]
        posts.append(Post(
            path=f"p{i:03d}.md", slug=f"p{i:03d}", title=f"{key} notes {i}",
            date=f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}",
            tags=(tag, "Notes") if i % 4 == 0 else (tag,),
            body=f"{words} {words} part {i}\n",
        ))
    # The newest posts carry a tag that no training post has, named in their text.
    for j in range(3):
        posts.append(Post(
            path=f"z{j}.md", slug=f"z{j}", title=f"Quantum computing basics {j}",
            date=f"2021-06-0{j + 1}", tags=("Quantum", "Python"),
            body="quantum qubit python superposition quantum gates\n",
        ))
    return posts


@pytest.fixture(scope="module")
def synthetic():
    return Features(_synthetic_posts(), HashEncoder(), None)


def test_temporal_split_by_fraction_and_by_date(synthetic):
    posts = synthetic.posts
    train, test, undated = temporal_split(posts, holdout=0.1)
    assert len(test) == round(0.1 * len(posts)) and not undated
    assert max(posts[i].date for i in train) <= min(posts[i].date for i in test)
    train2, test2, _ = temporal_split(posts, cutoff_date="2021-01-01")
    assert {posts[i].slug for i in test2} == {"z0", "z1", "z2"}
    assert len(train2) == len(posts) - 3


def test_a_tag_only_in_held_out_posts_is_never_suggested(synthetic):
    train, test, _ = temporal_split(synthetic.posts, cutoff_date="2021-01-01")
    for name in TAG_METHODS:
        if name == "tag-name":
            continue  # needs tag-name embeddings: same vocabulary code path as the rest
        method = make_tag_method(name).fit(synthetic, train)
        assert "quantum" not in method.vocab_.keys
        for row in method.suggest(synthetic, indices=test, k=10):
            assert "Quantum" not in [t for t, _ in row]
    result = evaluate_tags(synthetic, methods=["popularity", "blogrec"],
                           cutoff_date="2021-01-01")
    assert result["split"]["unseen_tags"] == 1 and result["split"]["held_out_scored"] == 3
    assert result["split"]["unseen_tag_names"] == ["quantum"]
    for row in result["rows"]:
        assert row["R@10"] <= 0.5  # Quantum is a miss for every method


def test_default_ranks_the_topic_tag_first(synthetic):
    assert DEFAULT_TAG_METHOD == "blogrec" == TAG_METHODS[-1]
    result = evaluate_tags(synthetic, methods=["popularity", "knn", "blogrec"], holdout=0.2)
    rows = {r["method"]: r for r in result["rows"]}
    assert rows["blogrec"]["P@1"] == 1.0
    assert rows["blogrec"]["MAP@5"] >= rows["popularity"]["MAP@5"]


def test_a_rare_tag_named_in_the_text_is_suggested():
    posts = _synthetic_posts()[:60]
    posts.append(Post(path="w.md", slug="w", title="WebAssembly in the browser",
                      date="2020-01-05", tags=("WebAssembly", "Rust"),
                      body="rust webassembly wasm module\n"))
    feats = Features(posts, HashEncoder(), None)
    model = make_tag_method().fit(feats)
    draft = Post(path="d.md", slug="d", title="Compiling to WebAssembly", date=None,
                 body="How we ship WebAssembly modules built with cargo.\n")
    top = [t for t, _ in model.suggest(feats, posts=[draft], k=3)[0]]
    assert "WebAssembly" in top


def test_lexical_matches_handle_separators_and_japanese():
    m = lexical_matches(["We use nodejs and Node.js", "設定ファイルを書く", "javascripts"],
                        ["node.js", "設定", "javascript"])
    assert m.tolist() == [[True, False, False], [False, True, False], [False, False, False]]


def test_duplicates_find_spelling_variants_and_overlap(write_posts):
    files = {}
    for i in range(4):
        files[f"a{i}.md"] = f"---\ntitle: A{i}\ntags: [Node.js, donation, Philanthropy]\n---\nx\n"
    files["b.md"] = "---\ntitle: B\ntags: [nodejs, JavaScript]\n---\nx\n"
    files["c.md"] = "---\ntitle: C\ntags: [javascript]\n---\nx\n"
    files["d.md"] = "---\ntitle: D\ntags: [Greasemonkey]\n---\nx\n"
    files["e.md"] = "---\ntitle: E\ntags: [Greasemonky]\n---\nx\n"
    root = write_posts(files)
    posts = load_corpus(root).posts
    found = find_duplicate_tags(posts, root)
    kinds = {(d["kind"], tuple(sorted(d["tags"], key=str.casefold))) for d in found}
    assert ("separator", ("Node.js", "nodejs")) in kinds
    assert ("overlap", ("donation", "Philanthropy")) in kinds
    assert ("edit-distance", ("Greasemonkey", "Greasemonky")) in kinds
    case = [d for d in found if d["kind"] == "case"]
    assert case and case[0]["evidence"]["spellings"] == {"JavaScript": 1, "javascript": 1}
    overlap = next(d for d in found if d["kind"] == "overlap")
    assert overlap["evidence"]["together"] == 4 and overlap["evidence"]["jaccard"] == 1.0


def test_broken_front_matter_falls_back_to_the_text():
    post, warning = parse_draft(DRAFTS / "en-broken-front-matter.md")
    assert warning and "front matter" in warning
    assert "Docker" in post.title and post.tags == ()
    post, warning = parse_draft(DRAFTS / "en-pytest-fixtures.md")
    assert warning is None and post.title.startswith("Sharing pytest fixtures")


# ---------------------------------------------------------------- the sample blog


@pytest.fixture(scope="module")
def sample(request):
    encoder = request.getfixturevalue("encoder")
    corpus = load_corpus(SAMPLE_BLOG)
    if len(corpus.posts) < 30:
        pytest.skip("sample blog not written yet")
    feats = Features(corpus.posts, encoder, None)
    return feats, make_tag_method().fit(feats)


def test_suggest_for_japanese_draft(sample):
    feats, model = sample
    out = suggest_for_draft(DRAFTS / "ja-postgresql-index.md", feats, k=5, suggester=model)
    tags = [s["tag"] for s in out["suggestions"]]
    assert out["warning"] is None and out["tags"] == ["PostgreSQL"]
    assert tags[0] == "PostgreSQL" and out["suggestions"][0]["on_post"] is True
    assert {"SQL", "Indexing", "Performance"} & set(tags)
    assert [s["on_post"] for s in out["suggestions"]].count(True) == 1


def test_suggest_for_english_draft_without_tags(sample):
    feats, model = sample
    out = suggest_for_draft(DRAFTS / "en-pytest-fixtures.md", feats, k=5, suggester=model)
    tags = [s["tag"] for s in out["suggestions"]]
    assert {"pytest", "Python", "Testing"} <= set(tags)
    assert not any(s["on_post"] for s in out["suggestions"])
    scores = [s["score"] for s in out["suggestions"]]
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1


def test_suggest_for_broken_draft_warns_and_still_suggests(sample):
    feats, model = sample
    out = suggest_for_draft(DRAFTS / "en-broken-front-matter.md", feats, k=5, suggester=model)
    assert out["warning"]
    assert {"Docker", "DevOps"} & {s["tag"] for s in out["suggestions"]}


def test_tags_payload_suggests_only_missing_tags(sample):
    feats, model = sample
    payload = tags_payload(feats, k=3, suggester=model)
    assert set(payload["posts"]) == {p.slug for p in feats.posts}
    for p in feats.posts:
        entry = payload["posts"][p.slug]
        assert entry["tags"] == list(p.tags)
        assert not {s["tag"] for s in entry["suggested"]} & set(p.tags)
        assert len(entry["suggested"]) <= 3
    assert isinstance(payload["duplicates"], list)


def test_ridge_from_fold_moments_is_the_ridge_on_all_rows():
    from scipy import sparse

    from blogrec.tags import _PrimalRidge

    rng = np.random.default_rng(3)
    z = rng.standard_normal((60, 8))
    y = sparse.csr_matrix((rng.random((60, 5)) < 0.3).astype(float))
    # the closed form: (Z^T Z + I)^-1 Z^T (Y - mean)
    mean = y.toarray().mean(axis=0)
    expected = np.linalg.solve(z.T @ z + np.eye(8), z.T @ (y.toarray() - mean))
    parts = [_PrimalRidge.moments(z[f::3], y[f::3]) for f in range(3)]
    split = _PrimalRidge(1.0).fit_moments(parts)
    np.testing.assert_allclose(split.w_, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(split.mean_, mean)
    np.testing.assert_allclose(_PrimalRidge(1.0).fit(z, y).w_, expected, rtol=1e-5, atol=1e-6)


def test_large_blog_suggestions_come_from_the_fits_fold_models(sample, monkeypatch):
    """On a large blog the fusion is learnt on a sample of posts, and every post's own
    suggestions are scored afterwards, block by block: by the same fold models, so a
    sampled post gets exactly the scores its fusion training row had."""
    import blogrec.tags as tags_module

    feats, _ = sample
    monkeypatch.setattr(tags_module, "FUSION_PAIRS", 1)
    monkeypatch.setattr(tags_module, "MIN_FUSION_POSTS", 20)
    model = make_tag_method().fit(feats)
    sampled = model.oof_rows_
    assert 20 == len(sampled) < len(feats.posts)
    scored = {}
    for rows, scores in model._oof_blocks():
        scored.update(zip(rows.tolist(), scores, strict=True))
    assert sorted(scored) == list(range(len(feats.posts)))
    fused = model.fuse(model.oof_signals_) * model.oof_seen_
    for i, r in enumerate(sampled):
        np.testing.assert_allclose(scored[int(r)], fused[i], rtol=1e-5, atol=1e-7)


def test_a_helper_thread_scores_some_posts_with_the_same_result(sample, monkeypatch):
    """Blocks of posts go to whichever thread asks first: the suggestions are the same
    lists as one thread's, and both threads took part."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import blogrec.tags as tags_module

    feats, model = sample
    monkeypatch.setattr(tags_module, "SCORE_CHUNK", 4)  # 17 blocks of the 65 posts
    alone = model.oof_suggestions(5)
    threads = set()
    real = tags_module._top_suggestions

    def spy(*args, **kwargs):
        threads.add(threading.get_ident())
        time.sleep(0.005)  # long enough a block for the helper to start and take some
        return real(*args, **kwargs)

    monkeypatch.setattr(tags_module, "_top_suggestions", spy)
    with ThreadPoolExecutor(1) as pool:
        assert model.oof_suggestions(5, helper=pool) == alone
    assert len(threads) == 2


def test_a_busy_helper_is_not_waited_for(sample):
    """A helper pool still busy with other work (the build's clusters, its map) when the
    blocks run out: its queued share is cancelled, the suggestions return at once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    feats, model = sample
    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(release.wait, 60)
        assert model.oof_suggestions(5, helper=pool) == model.oof_suggestions(5)
        assert not busy.done()  # returned while the pool's thread was still busy
        release.set()


def test_top_suggestions_of_a_block_are_each_rows_sorted_top_k():
    """The block selection equals sorting each row in full: score (9 decimals) down, then
    the more frequent tag, then the column; own tags never listed; ties at the cut kept
    in order, short rows return what they have."""
    from blogrec.tags import TagVocabulary, _suggestions, _top_suggestions

    rng = np.random.default_rng(5)
    t = 300
    keys = [f"tag{j}" for j in range(t)]
    counts = rng.integers(1, 4, t).astype(float)  # many equal counts: the column decides
    vocab = TagVocabulary(keys, keys, counts, 50)
    scores = np.round(rng.random((40, t)) * 4) / 4  # five distinct values: ties everywhere
    scores[3] = 0.5  # one row all tied
    scores[4, :] = -np.inf
    scores[4, [7, 9]] = [0.1, 0.2]  # fewer finite scores than k
    scores[5] += 1e-12  # below 9 decimals: still tied
    exclude = [set(rng.choice(keys, size=r % 6, replace=False)) for r in range(40)]
    exclude[3] = set(keys[:-2])  # only two tags left to suggest
    k = 5

    def by_full_sort(row, own):
        order = sorted(range(t), key=lambda j: (-round(row[j], 9), -counts[j], j))
        return [(j, row[j]) for j in order if keys[j] not in own][:k]

    block = _top_suggestions(scores, vocab, k, exclude)
    for r in range(40):
        assert block[r] == by_full_sort(scores[r], exclude[r]), r
        assert _suggestions(scores[r], vocab, k, exclude[r]) == block[r]
    assert block[3] == [(t - 2, 0.5), (t - 1, 0.5)]
    assert block[4][:2] == [(9, 0.2), (7, 0.1)] and len(block[4]) == k


def test_name_matches_prepared_ahead_are_the_fits_own(sample, monkeypatch):
    """The build matches tag names on its second thread before the fit: the fit then
    matches nothing itself, and suggests exactly what it suggests unprepared."""
    import blogrec.tags as tags_module
    from blogrec.tags import prepare_name_matches

    feats, model = sample
    fresh = Features(feats.posts, feats.encoder, None)
    prepare_name_matches(fresh)

    def no_more(*args, **kwargs):
        raise AssertionError("the fit matched tag names again")

    monkeypatch.setattr(tags_module, "_match_pairs", no_more)
    monkeypatch.setattr(tags_module, "_canon", no_more)
    prepared = make_tag_method().fit(fresh)
    assert prepared.oof_suggestions(5) == model.oof_suggestions(5)


def test_a_helper_thread_fits_some_fold_models_with_the_same_result(sample, monkeypatch):
    """The fold moments and the fold models are pieces either thread may take: the fitted
    model suggests exactly what a one-thread fit does, and both threads fitted some."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import blogrec.tags as tags_module
    from blogrec.tags import BlogrecTags

    feats, model = sample
    threads = set()
    real = tags_module._PrimalRidge.moments

    def spy(*args, **kwargs):
        threads.add(threading.get_ident())
        time.sleep(0.02)  # long enough a piece for the helper to start and take some
        return real(*args, **kwargs)

    monkeypatch.setattr(tags_module._PrimalRidge, "moments", staticmethod(spy))
    with ThreadPoolExecutor(1) as pool:
        shared = BlogrecTags(pool).fit(feats)
    assert len(threads) == 2
    assert shared.weights == model.weights
    assert shared.oof_suggestions(5) == model.oof_suggestions(5)


def test_tags_payload_with_a_busy_helper_finds_duplicates_itself(sample):
    """The duplicate search goes to the helper; if the helper is still busy with other
    work when the payload is ready, the payload searches itself instead of waiting."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    feats, model = sample
    alone = tags_payload(feats, k=3, suggester=model)
    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(release.wait, 60)
        assert tags_payload(feats, k=3, suggester=model, helper=pool) == alone
        assert not busy.done()
        release.set()
    with ThreadPoolExecutor(1) as pool:
        assert tags_payload(feats, k=3, suggester=model, helper=pool) == alone


@pytest.mark.parametrize("new_posts", [False, True])
def test_fused_scores_are_the_plain_weighted_sum_to_the_bit(sample, new_posts):
    """The scoring adds the sparse signals only where they are non-zero, in place: the
    same bits as summing every signal densely, for the blog's posts and for drafts."""
    from blogrec.tags import _Batch, _sigmoid

    feats, model = sample
    assert model.fusion_ is not None
    batch = (_Batch(feats, posts=feats.posts[:9]) if new_posts
             else _Batch(feats, indices=np.arange(len(feats.posts))))
    _, _, m = model.fold_models_[0]
    w, b = model._fusion_linear()
    z = np.full((len(batch), len(model.vocab_.keys)), b)
    signals = model._signal_list(m, batch)
    for sparse_signal in (signals[1], signals[3], signals[4]):  # kNN votes, name matches
        assert 0 < np.count_nonzero(sparse_signal) < sparse_signal.size
    for weight, x in zip(w, signals, strict=True):
        z += weight * x
    assert np.array_equal(model._fused(m, batch), _sigmoid(z))
