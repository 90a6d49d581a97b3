"""Top-k related posts and the reference study's metric."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blogrec.corpus import tag_sets
from blogrec.evaluation.metrics import random_score, related_score
from blogrec.related import top_k_from_similarity, top_k_from_vectors
from blogrec.taxonomy import dice


def unit(rows):
    x = np.asarray(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_top_k_excludes_self_and_orders_by_cosine():
    v = unit([[1, 0], [0.9, 0.1], [0, 1], [0.5, 0.5]])
    idx, scores = top_k_from_vectors(v, k=2)
    # post 3 is equally close to posts 0 and 2: the tie goes to the smaller index
    assert idx.tolist() == [[1, 3], [0, 3], [3, 1], [1, 0]]
    assert all(i not in row for i, row in enumerate(idx))
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


def test_ties_are_broken_by_index_whatever_the_path():
    v = unit([[1, 0]] * 5)  # five identical posts
    idx_faiss, _ = top_k_from_vectors(v, k=4)
    idx_dense, _ = top_k_from_similarity(v @ v.T, k=4)
    assert idx_faiss.tolist() == idx_dense.tolist()
    assert idx_faiss[0].tolist() == [1, 2, 3, 4] and idx_faiss[4].tolist() == [0, 1, 2, 3]


def test_fewer_posts_than_k_leaves_empty_slots():
    idx, scores = top_k_from_vectors(unit([[1, 0], [0, 1]]), k=4)
    assert idx.tolist() == [[1, -1, -1, -1], [0, -1, -1, -1]]
    assert scores[0, 1:].tolist() == [0, 0, 0]


def test_zero_vector_post_gets_zero_scores_not_nan():
    v = np.array([[0, 0], [1, 0], [0.6, 0.8]], dtype=np.float32)
    _, scores = top_k_from_vectors(v, k=2)
    assert not np.isnan(scores).any() and np.all(scores[0] == 0)


def test_dice():
    assert dice({"a", "b"}, {"b", "c"}) == 0.5
    assert dice({"a"}, {"a"}) == 1.0
    assert dice(set(), set()) == 0.0
    assert dice({"a"}, set()) == 0.0


def test_related_score_by_hand():
    tags = [frozenset("ab"), frozenset("b"), frozenset("c"), frozenset()]
    neighbours = np.array([[1, 2], [0, 2], [0, 1], [0, 1]])
    w1, w2 = 1.0, 1 / math.log2(3)
    # post 0: Dice(ab,b)=2/3 at rank 1, Dice(ab,c)=0; post 1: 2/3 at rank 1; post 2: 0
    expected = ((2 / 3) * w1 / (w1 + w2) * 2 + 0.0) / 3  # post 3 has no tags: not counted
    assert related_score(tags, neighbours, k=2) == pytest.approx(expected)


def test_missing_slots_count_as_zero():
    tags = [frozenset("a"), frozenset("a")]
    full = related_score(tags, np.array([[1, 0], [0, 1]]), k=2)
    short = related_score(tags, np.array([[1, -1], [0, -1]]), k=2)
    assert short < full


def test_random_score_is_the_exact_expectation():
    rng = np.random.default_rng(0)
    vocab = list("abcdef")
    tags = [frozenset(rng.choice(vocab, size=rng.integers(1, 4), replace=False)) for _ in range(30)]
    n = len(tags)
    # Monte Carlo over random rankings converges to the exact value
    draws = []
    for _ in range(400):
        nb = np.array([rng.permutation([j for j in range(n) if j != i])[:4] for i in range(n)])
        draws.append(related_score(tags, nb))
    assert random_score(tags) == pytest.approx(np.mean(draws), abs=0.01)


def test_tag_sets_use_the_matching_form():
    class P:
        tags = ("JavaScript", "Node.js")

    assert tag_sets([P()]) == [frozenset({"javascript", "node.js"})]
