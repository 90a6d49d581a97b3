"""Tag suggestions: metrics, temporal split without leakage, drafts, duplicates, payload."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np
import pytest

from blogrec.corpus import Post, load_corpus, parse_draft
from blogrec.evaluation.compare import evaluate_tags
from blogrec.evaluation.metrics import (
    average_precision_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from blogrec.evaluation.split import temporal_split
from blogrec.features import Features
from blogrec.outputs import tags_payload
from blogrec.tagging import (
    DEFAULT_TAG_METHOD,
    TAG_METHODS,
    BlogrecTags,
    NameMatches,
    find_duplicate_tags,
    lexical_matches,
    make_tag_method,
    suggest_for_draft,
    tag_suggestions,
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
    payload = tags_payload(tag_suggestions(feats, k=3, tagger=model), feats.posts)
    assert set(payload["posts"]) == {p.slug for p in feats.posts}
    for p in feats.posts:
        entry = payload["posts"][p.slug]
        assert entry["tags"] == list(p.tags)
        assert not {s["tag"] for s in entry["suggested"]} & set(p.tags)
        assert len(entry["suggested"]) <= 3
    assert isinstance(payload["duplicates"], list)


def test_large_blog_suggestions_come_from_the_fits_fold_models(sample):
    """On a large blog the fusion is learnt on a sample of posts, and every post's own
    suggestions are scored afterwards, block by block: by the same fold models, so a
    sampled post gets the scores its fusion training row had."""
    feats, _ = sample
    model = BlogrecTags(fusion_pairs=1, min_fusion_posts=20).fit(feats)
    sampled = model.oof_rows_
    assert 20 == len(sampled) < len(feats.posts)
    scored = {}
    for rows, scores in model.score_blocks():
        scored.update(zip(rows.tolist(), scores(), strict=True))
    assert sorted(scored) == list(range(len(feats.posts)))
    fused = model.fusion_.predict_stacked(model.oof_signals_) * model.oof_seen_
    for i, r in enumerate(sampled):
        # (not to the bit: the float32 signals were computed in blocks of other sizes)
        np.testing.assert_allclose(scored[int(r)], fused[i], rtol=1e-5, atol=1e-7)


def in_reverse(pieces):
    """A runner that runs the last piece first."""
    return [piece() for piece in pieces[::-1]][::-1]


def on_two_threads(pieces):
    """A runner that runs the pieces on two threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda piece: piece(), pieces))


@pytest.mark.parametrize("run", [in_reverse, on_two_threads])
def test_the_fits_pieces_give_the_same_model_whoever_runs_them(sample, run):
    """The fit's pieces (each fold's moments, the name matches, each fold's models) are
    independent: run backwards or on two threads, the model is the one-thread model."""
    feats, model = sample
    other = BlogrecTags().fit(feats, run=run)
    assert other.weights == model.weights and other.weights
    assert other.oof_suggestions(5) == model.oof_suggestions(5)


@pytest.mark.parametrize("run", [in_reverse, on_two_threads])
def test_score_blocks_give_the_same_suggestions_whoever_runs_them(sample, run):
    """Blocks of score_chunk posts (17 of the 65 posts at 4): the same lists in any order
    and on any thread; the same tags as blocks of 1000 (the scores then differ by float32
    rounding only: products of another shape)."""
    feats, model = sample
    chunked = BlogrecTags(score_chunk=4).fit(feats)
    assert len(chunked.suggestion_blocks(5)) == math.ceil(len(feats.posts) / 4)
    alone = chunked.oof_suggestions(5)
    assert chunked.oof_suggestions(5, run=run) == alone
    default = model.oof_suggestions(5)
    assert [[j for j, _ in row] for row in alone] == [[j for j, _ in row] for row in default]
    np.testing.assert_allclose([s for row in alone for _, s in row],
                               [s for row in default for _, s in row], rtol=1e-6)


def test_top_suggestions_of_a_block_are_each_rows_sorted_top_k():
    """The block selection equals sorting each row in full: score (9 decimals) down, then
    the more frequent tag, then the column; own tags never listed; ties at the cut kept
    in order, short rows return what they have."""
    from blogrec.tagging import TagVocabulary, row_suggestions, top_suggestions

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

    block = top_suggestions(scores, vocab, k, exclude)
    for r in range(40):
        assert block[r] == by_full_sort(scores[r], exclude[r]), r
        assert row_suggestions(scores[r], vocab, k, exclude[r]) == block[r]
    assert block[3] == [(t - 2, 0.5), (t - 1, 0.5)]
    assert block[4][:2] == [(9, 0.2), (7, 0.1)] and len(block[4]) == k


def test_name_matches_computed_ahead_are_the_fits_own(sample):
    """The build may match tag names ahead, on its second thread (`NameMatches.fit`), and
    hand them to the fit: the fit then has no matching to do, and suggests exactly what
    it suggests unprepared; given the matches of some tags, it matches the others."""
    feats, model = sample
    keys = model.vocab_.keys
    matches = NameMatches.fit(feats)
    assert np.array_equal(matches.matrix("title", keys).toarray(),
                          lexical_matches([p.title for p in feats.posts], keys))
    assert len(BlogrecTags().start(feats).fold_moments_work()) == 5 + 2  # + title, text
    assert len(BlogrecTags().start(feats, name_matches=matches).fold_moments_work()) == 5
    alone = model.oof_suggestions(5)
    assert BlogrecTags().fit(feats, name_matches=matches).oof_suggestions(5) == alone
    some = NameMatches.fit(feats, keys[:3])
    assert some.missing(keys) == keys[3:]
    assert BlogrecTags().fit(feats, name_matches=some).oof_suggestions(5) == alone


@pytest.mark.parametrize("run", [in_reverse, on_two_threads])
def test_tag_suggestions_are_the_same_whoever_runs_the_pieces(sample, run):
    """`tag_suggestions` (what the build calls, with a runner that shares the pieces
    with its second thread): the same payload as one thread's, duplicates included."""
    feats, model = sample
    alone = tag_suggestions(feats, k=3, root=SAMPLE_BLOG)
    assert alone.suggestions == model.oof_suggestions(3)
    assert alone.duplicates == find_duplicate_tags(feats.posts, SAMPLE_BLOG)
    payload = tags_payload(alone, feats.posts)
    assert payload["cross_fitting"] == "5-fold" and "note" not in payload
    shared = tag_suggestions(feats, k=3, root=SAMPLE_BLOG, run=run)
    assert tags_payload(shared, feats.posts) == payload
    given = tag_suggestions(feats, k=3, root=SAMPLE_BLOG, run=run, tagger=model)
    assert tags_payload(given, feats.posts) == payload


def test_a_blog_without_tags_gets_a_note_and_no_suggestions():
    from blogrec.tagging import NO_TAGS_MESSAGE

    posts = [Post(path=f"p{i}.md", slug=f"p{i}", title=f"Post {i}", date=None,
                  body="words\n") for i in range(3)]
    feats = Features(posts, HashEncoder(), None)
    payload = tags_payload(tag_suggestions(feats, k=3), feats.posts)
    assert payload == {
        "schema": "blogrec/tags", "version": 1, "method": "blogrec", "note": NO_TAGS_MESSAGE,
        "tags": [], "posts": {p.slug: {"tags": [], "suggested": []} for p in posts},
        "duplicates": []}
    assert list(payload) == ["schema", "version", "method", "note", "tags", "posts",
                             "duplicates"]


@pytest.mark.parametrize("new_posts", [False, True])
def test_fused_scores_are_the_plain_weighted_sum_to_the_bit(sample, new_posts):
    """The scoring adds the sparse signals only where they are non-zero, in place: the
    same bits as summing every signal densely, for the blog's posts and for drafts."""
    from blogrec.tagging import Batch, sigmoid

    feats, model = sample
    assert model.fusion_.learnt
    batch = (Batch(feats, posts=feats.posts[:9]) if new_posts
             else Batch(feats, indices=np.arange(len(feats.posts))))
    m = model.folds_[0].model
    w, b = model.fusion_.linear()
    z = np.full((len(batch), len(model.vocab_.keys)), b)
    signals = model.signal_parts(m, batch).dense()
    for sparse_signal in (signals[1], signals[3], signals[4]):  # kNN votes, name matches
        assert 0 < np.count_nonzero(sparse_signal) < sparse_signal.size
    for weight, x in zip(w, signals, strict=True):
        z += weight * x
    assert np.array_equal(model.fusion_.predict(model.signal_parts(m, batch)), sigmoid(z))
    # the stored out-of-fold signals are scored by the same formula
    assert np.array_equal(model.fusion_.predict_stacked(np.stack(signals, axis=2)),
                          sigmoid(z))
