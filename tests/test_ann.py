"""blogrec.ann: exact and approximate top-k search. Synthetic data only, no ../shared."""

from __future__ import annotations

import numpy as np
import pytest

from blogrec import ann


def _brute_force(x: np.ndarray, k: int, q: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """numpy top-k by inner product, self excluded when q is None, ties by smaller index."""
    sim = (x if q is None else q).astype(np.float64) @ x.T.astype(np.float64)
    if q is None:
        np.fill_diagonal(sim, -np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(x.shape[0]), sim.shape), -sim), axis=1)
    idx = order[:, :k]
    return idx, np.take_along_axis(sim, idx, axis=1)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = (found[:, :, None] == truth[:, None, :]).any(axis=2)
    return float(hits.mean())


@pytest.fixture(scope="module")
def clustered() -> np.ndarray:
    return ann.clustered_unit_vectors(10_000, 64, seed=3)


def test_exact_equals_brute_force() -> None:
    x = ann.clustered_unit_vectors(600, 32, seed=1)
    q = ann.clustered_unit_vectors(50, 32, seed=2)
    for queries in (None, q):
        idx, scores = ann.search(x, 7, queries=queries, mode="exact")
        ref_idx, ref_scores = _brute_force(x, 7, queries)
        assert idx.dtype == np.int64 and scores.dtype == np.float32
        np.testing.assert_allclose(scores, ref_scores, atol=1e-5)
        # Indices agree wherever the scores are not (near-)tied.
        gaps = np.diff(ref_scores, axis=1)
        tied = np.zeros_like(idx, dtype=bool)
        tied[:, 1:] |= gaps > -1e-5
        tied[:, :-1] |= gaps > -1e-5
        assert (idx[~tied] == ref_idx[~tied]).all()


def test_self_never_returned_even_with_duplicates() -> None:
    x = ann.clustered_unit_vectors(300, 16, seed=4)
    x[10] = x[11] = x[12]  # triplicates: each must list the other two, not itself
    for mode in ("exact", "approx"):
        idx, scores = ann.search(x, 5, mode=mode)
        assert not (idx == np.arange(len(x))[:, None]).any()
        assert list(idx[10, :2]) == [11, 12]
        assert list(idx[11, :2]) == [10, 12]
        assert list(idx[12, :2]) == [10, 11]
        np.testing.assert_allclose(scores[10, :2], 1.0, atol=1e-5)
    idx, _ = ann.search(x, 3, mode="exact", exclude_self=False)
    assert (idx[:, 0] == np.arange(len(x))).sum() >= len(x) - 3  # self first (dups tie)


def test_approx_recall_at_4(clustered: np.ndarray) -> None:
    exact_idx, _ = ann.search(clustered, 4, mode="exact")
    approx_idx, approx_scores = ann.search(clustered, 4, mode="approx")
    assert _recall(approx_idx, exact_idx) >= 0.99
    # Re-ranked scores are exact inner products of the returned pairs.
    rows = np.arange(len(clustered))[:, None]
    direct = np.einsum("ijk,ijk->ij", clustered[rows.repeat(4, 1)], clustered[approx_idx])
    np.testing.assert_allclose(approx_scores, direct, atol=1e-5)


def test_auto_picks_exact_below_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ann.choose_mode(ann.AUTO_APPROX_MIN - 1) == "exact"
    assert ann.choose_mode(ann.AUTO_APPROX_MIN) == "approx"
    assert ann.choose_mode(10**9, "exact") == "exact"
    assert ann.choose_mode(10, "approx") == "approx"
    with pytest.raises(ValueError):
        ann.choose_mode(10, "fast")
    calls: list[str] = []
    real = ann.build_approx_index
    monkeypatch.setattr(
        ann, "build_approx_index", lambda *a, **kw: calls.append("approx") or real(*a, **kw)
    )
    x = ann.clustered_unit_vectors(500, 16, seed=5)
    auto = ann.search(x, 4)
    exact = ann.search(x, 4, mode="exact")
    assert calls == []
    np.testing.assert_array_equal(auto[0], exact[0])


def test_deterministic(clustered: np.ndarray) -> None:
    x = clustered[:2000]
    a = ann.search(x, 4, mode="approx")
    b = ann.search(x, 4, mode="approx")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(
        ann.clustered_unit_vectors(100, 8, seed=9), ann.clustered_unit_vectors(100, 8, seed=9)
    )


@pytest.mark.parametrize("mode", ["exact", "approx"])
def test_missing_slots_for_tiny_inputs(mode: str) -> None:
    x = ann.clustered_unit_vectors(3, 8, seed=6)
    idx, scores = ann.search(x, 5, mode=mode)
    assert idx.shape == (3, 5) and scores.shape == (3, 5)
    assert (idx[:, 2:] == -1).all() and (scores[:, 2:] == 0).all()
    assert (idx[:, :2] >= 0).all()
    idx1, scores1 = ann.search(x[:1], 4, mode=mode)
    assert (idx1 == -1).all() and (scores1 == 0).all()
    empty = ann.search(np.zeros((0, 8), np.float32), 3, queries=x, mode=mode)
    assert (empty[0] == -1).all()


def test_zero_vectors_score_zero() -> None:
    x = ann.clustered_unit_vectors(50, 8, seed=7)
    x[5] = 0.0
    for mode in ("exact", "approx"):
        idx, scores = ann.search(x, 4, mode=mode)
        assert np.isfinite(scores).all()
        np.testing.assert_allclose(scores[5], 0.0, atol=1e-6)
        pos = idx == 5
        np.testing.assert_allclose(scores[pos], 0.0, atol=1e-6)


def test_params_rule_is_a_function_of_n() -> None:
    p = ann.approx_params(692_821, 512)
    assert p.nlist == round(4 * 692_821**0.5)
    assert 1 <= p.nprobe <= p.nlist and 512 % p.pq_m == 0
    assert p.train_size <= 692_821
    small = ann.approx_params(10, 4)
    assert small.nlist >= 1 and small.train_size <= 10


def test_hnsw_recall_at_10_and_exact_scores(clustered: np.ndarray) -> None:
    x, q = clustered[:6_000], clustered[9_000:]
    exact_idx, _ = ann.search(x, 10, queries=q, mode="exact")
    idx, scores = ann.search(x, 10, queries=q, mode="approx", params=ann.HNSWParams())
    assert _recall(idx, exact_idx) >= 0.98
    # Scores are the exact inner products of the returned pairs, best first.
    direct = np.einsum("qd,qkd->qk", q, x[idx])
    np.testing.assert_allclose(scores, direct, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    # A narrower beam finds fewer of the true neighbours (the parameter is used).
    narrow, _ = ann.search(x, 10, queries=q, mode="approx", params=ann.HNSWParams(ef_search=10))
    assert _recall(narrow, exact_idx) < _recall(idx, exact_idx)


def test_hnsw_self_search_excludes_self(clustered: np.ndarray) -> None:
    x = clustered[:3_000].copy()
    x[10] = x[11] = x[12]
    idx, scores = ann.search(x, 4, mode="approx", params=ann.HNSWParams())
    assert not (idx == np.arange(len(x))[:, None]).any()
    assert list(idx[10, :2]) == [11, 12] and list(idx[12, :2]) == [10, 11]
    np.testing.assert_allclose(scores[10, :2], 1.0, atol=1e-5)
    exact_idx, _ = ann.search(x, 4, mode="exact")
    assert _recall(idx, exact_idx) >= 0.99


def test_hnsw_build_is_deterministic(clustered: np.ndarray) -> None:
    """Same input, same graph: twice with all threads, and with one thread."""
    import faiss

    x = clustered[:3_000]

    def graph() -> np.ndarray:
        index = ann.build_hnsw_index(x, ann.HNSWParams(m=16, ef_construction=40))
        return faiss.vector_to_array(index.hnsw.neighbors)

    a, b = graph(), graph()
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        c = graph()
    finally:
        faiss.omp_set_num_threads(threads)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    r1 = ann.search(x[:1_500], 5, mode="approx", params=ann.HNSWParams())
    r2 = ann.search(x[:1_500], 5, mode="approx", params=ann.HNSWParams())
    np.testing.assert_array_equal(r1[0], r2[0])
    np.testing.assert_array_equal(r1[1], r2[1])
