"""Top-k nearest neighbours by inner product (cosine on L2-normalised rows), exact or approximate.

Two paths, one result format:

* ``exact``: ``faiss.IndexFlatIP``, brute force in BLAS-sized blocks (no n x n matrix).
* ``approx``: by default an IVF index with 4-bit PQ fast-scan codes
  (``IndexIVFPQFastScan``) that produces a shortlist, re-ranked with exact inner products
  by ``IndexRefineFlat`` -- the same idea as the study's ScaNN "reorder". Passing
  ``params=HNSWParams(...)`` selects an HNSW graph instead (``IndexHNSWFlat``, inner
  product on the stored float vectors). Either way the returned scores are exact inner
  products; only membership of the top-k is approximate.

``auto`` uses ``exact`` below ``AUTO_APPROX_MIN`` vectors and ``approx`` (IVF) from there
on. All parameters of the IVF index follow from n by the rule in ``approx_params``;
nothing is tuned per data set. See benchmarks/ann_search.py for the evidence.

Which approximate index: at the study's search shape (692,821 x 512, 21,072 queries, top
10) HNSW (M=32, efSearch 96) is ~32x faster than exact search at recall@10 0.96, where
IVF needs nprobe nlist/8 and is ~16x faster (0.965); that is the "fast, recall ~0.96"
regime, and HNSW is the index for it. The default ``auto`` path serves related posts:
self-search with recall@4 >= 0.99 and the index built for one use, where IVF's 6x
shorter build wins (HNSW: 490 s vs 81 s at 692,821) and HNSW would need a far larger
efSearch for 0.99, so IVF stays the default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import faiss
import numpy as np

MODES = ("auto", "exact", "approx")

# Below this many database vectors "auto" searches exactly. From the threshold sweep in
# benchmarks/ann_search.py (self-search, k=4, build + search, same run): approx/exact time
# 0.77x at 10k, 1.30x at 20k, 2.16x at 50k, 4.06x at 100k, with recall@4 0.995-0.998; 50k is
# where approx is first clearly (>= 2x) faster. Recall@4 >= 0.99 holds from there on (0.995
# at 692,821) and on real USE embeddings (0.992-0.999).
AUTO_APPROX_MIN = 50_000

# Extra neighbours asked beyond k (+1 for self) so that ties at the cut can be put in
# index order here instead of in whatever order faiss' heaps left them.
TIE_PAD = 4
# Scores are compared at this many decimals when ordering, so float noise between BLAS
# blocks cannot reorder (near-)duplicates; same convention as blogrec.related.
TIE_DECIMALS = 6
SEED = 1234
PQ_TRAIN_MAX = 16_384
QUERY_BLOCK = 8192  # queries per call of an approximate index's search
# Below this many vectors even a forced "approx" searches exactly (no index to train).
APPROX_MIN_TRAIN = 256


@dataclass(frozen=True)
class HNSWParams:
    """An HNSW graph over the vectors (faiss ``IndexHNSWFlat``, inner product).

    * m = 32 links per vector (64 on the bottom level): the usual choice for 100-1000-d
      embeddings; the graph costs ~m * 8 bytes per vector on top of the float vectors.
    * ef_construction = 100: beam width while linking; builds in ~490 s at 692,821 x 512
      on 2 cores (2 threads).
    * ef_search = 96: beam width per query (at least the number of neighbours asked for).
      At 692,821 x 512, top 10: recall@10 0.94 / 0.96 / 0.97 at efSearch 64 / 96 / 128,
      43x / 32x / 26x faster than exact search (benchmarks/ann_search.py).

    The graph is deterministic: faiss >= 1.15 builds it with a lock-free two-phase
    algorithm whose result does not depend on thread scheduling; with an older faiss the
    build runs on one thread (slower, but the same input gives the same graph).
    """

    m: int = 32
    ef_construction: int = 100
    ef_search: int = 96

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ApproxParams:
    nlist: int  # inverted lists (k-means centroids of the coarse quantizer)
    nprobe: int  # lists scanned per query
    pq_m: int  # PQ sub-quantizers, 4 bits each (fast-scan): pq_m / 2 bytes per vector
    train_size: int  # fixed-seed subsample used to train k-means and PQ
    niter: int  # k-means iterations
    shortlist: int  # minimum candidates re-ranked exactly per query

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def approx_params(n: int, dim: int, lists_per_root: float = 4.0) -> ApproxParams:
    """The approximate index's parameters as a function of n (and dim) only.

    * nlist = 4 sqrt(n) (`lists_per_root`): the usual IVF rule; lists of ~sqrt(n)/4
      vectors keep both the coarse assignment (n x nlist) and the scan (nprobe x n /
      nlist) sub-quadratic.
    * nprobe = nlist / 2 (at least 16): scans half of the lists. Embedding clusters overlap
      (a post's neighbours spread over many lists): in the sweep recall@4 was 0.977 at
      nlist/5 (100k) and 0.987 at nlist/8 (692k), so recall@4 >= 0.99 needs ~nlist/2
      (0.995-0.998 from 10k to 692k). 4-bit fast-scan codes are 32x smaller than the
      float vectors, so scanning half of them is still several times cheaper than exact.
      Callers who accept recall@10 ~0.94 can pass nprobe = nlist / 16 (~39x faster than
      exact at 692,821, see the benchmark) through ``params``.
    * pq_m = dim / 4 (4 dims per 4-bit sub-quantizer): 64 bytes per 512-d vector; only the
      ranking of the shortlist depends on it, the exact re-rank fixes the scores.
    * train_size = 20 * nlist (at least 10k, at most n): enough for coarse centroids that
      only route queries (the re-rank is exact); k-means then costs ~ 20 nlist^2 = 320 n,
      so building stays linear in n. PQ trains on <= 16k of these.
    * shortlist = 400 candidates re-ranked exactly (the study's ScaNN reordered 100): at
      512-d recall is bounded by nprobe from ~400 on; at 64-d (coarser PQ) 100 lost 13
      points of recall@4 that 400 recovers. Re-ranking 400 costs ~1/1700 of exact search
      at the study's n.
    """
    nlist = max(1, min(int(round(lists_per_root * math.sqrt(n))), n // 8 if n >= 8 else 1))
    nprobe = min(nlist, max(16, nlist // 2))
    pq_m = max(1, dim // 4)
    while dim % pq_m:  # PQ needs pq_m to divide dim
        pq_m -= 1
    return ApproxParams(
        nlist=nlist,
        nprobe=nprobe,
        pq_m=pq_m,
        train_size=min(n, max(20 * nlist, 10_000)),
        niter=10,
        shortlist=400,
    )


def choose_mode(n: int, mode: str = "auto") -> str:
    """Resolve "auto" to "exact" or "approx" from the number of database vectors."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "auto":
        return "approx" if n >= AUTO_APPROX_MIN else "exact"
    return mode


def build_approx_index(x: np.ndarray, params: ApproxParams | None = None) -> Any:
    """IVF-PQ fast-scan + exact refine, trained on a fixed-seed subsample of x."""
    n, dim = x.shape
    p = params or approx_params(n, dim)
    rng = np.random.default_rng(SEED)
    sample = np.sort(rng.choice(n, size=p.train_size, replace=False))
    train = x[sample] if p.train_size < n else x

    # Coarse k-means on all threads: big BLAS products, where threads pay off.
    quantizer = faiss.IndexFlatIP(dim)
    clus = faiss.Clustering(dim, p.nlist)
    clus.niter = p.niter
    clus.seed = SEED
    clus.min_points_per_centroid = 1  # small n: fewer than 39 points per list is fine here
    clus.max_points_per_centroid = 1 << 30  # we subsampled already
    clus.train(train, quantizer)

    base = faiss.IndexIVFPQFastScan(quantizer, dim, p.nlist, p.pq_m, 4, faiss.METRIC_INNER_PRODUCT)
    base.pq.cp.niter = p.niter
    base.pq.cp.seed = SEED
    # PQ training is 128 tiny k-means runs; on a busy 2-core machine OpenMP barriers make it
    # 10x slower with 2 threads than with 1, so it runs on one thread, on <= 16k residuals.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        base.train(train[: min(len(train), PQ_TRAIN_MAX)])  # quantizer already trained
    finally:
        faiss.omp_set_num_threads(threads)
    base.nprobe = p.nprobe
    index = faiss.IndexRefineFlat(base)
    index.add(x)
    return index


def build_hnsw_index(x: np.ndarray, params: HNSWParams | None = None) -> Any:
    """``IndexHNSWFlat`` (inner product) over x; deterministic (see ``HNSWParams``)."""
    p = params or HNSWParams()
    index = faiss.IndexHNSWFlat(x.shape[1], p.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = p.ef_construction
    index.hnsw.efSearch = p.ef_search
    # faiss < 1.15 links vertices in whatever order threads reach them: one thread then.
    threads = faiss.omp_get_max_threads()
    if not hasattr(faiss, "hnsw_add_vertices_deterministic"):
        faiss.omp_set_num_threads(1)
    try:
        index.add(x)
    finally:
        faiss.omp_set_num_threads(threads)
    return index


def _as_f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def search(
    vectors: np.ndarray,
    k: int,
    queries: np.ndarray | None = None,
    mode: str = "auto",
    exclude_self: bool = True,
    params: ApproxParams | HNSWParams | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows of ``vectors`` by inner product for each query.

    Rows should be L2-normalised (then scores are cosines); a zero row scores 0 with
    everything. With ``queries=None`` every row is a query and, if ``exclude_self``,
    row i never lists itself (an exact duplicate j of i is still listed). Ties are broken
    by the smaller index. Slots that cannot be filled (fewer than k candidates) hold
    index -1 and score 0. ``params`` overrides the approximate index's rule: an
    ``ApproxParams`` (IVF) or an ``HNSWParams`` (HNSW graph instead of IVF).
    Returns (indices int64 (nq, k), scores float32 (nq, k)).
    """
    x = _as_f32(vectors)
    if x.ndim != 2:
        raise ValueError("vectors must be 2-D (n, dim)")
    n, dim = x.shape
    self_search = queries is None
    q = x if self_search else _as_f32(queries)
    if q.ndim != 2 or q.shape[1] != dim:
        raise ValueError(f"queries must be 2-D with {dim} columns")
    nq = q.shape[0]
    drop_self = self_search and exclude_self
    mode = choose_mode(n, mode)
    if n < APPROX_MIN_TRAIN:
        mode = "exact"  # 4-bit PQ needs >= 16 training points; tiny inputs are fast anyway

    out_idx = np.full((nq, k), -1, dtype=np.int64)
    out_score = np.zeros((nq, k), dtype=np.float32)
    k_eff = min(k, n - 1 if drop_self else n)
    if k_eff <= 0 or nq == 0:
        return out_idx, out_score

    # +1 for self, + TIE_PAD so the k-th place can be decided by index, not heap order.
    want = min(n, k_eff + int(drop_self) + TIE_PAD)
    if mode == "exact":
        index = faiss.IndexFlatIP(dim)
        index.add(x)
        scores, idx = index.search(q, want)
    elif isinstance(params, HNSWParams):
        index = build_hnsw_index(x, params)
        search_params = faiss.SearchParametersHNSW()
        search_params.efSearch = max(params.ef_search, want)
        scores, idx = index.search(q, want, params=search_params)
    else:
        params = params or approx_params(n, dim)
        index = build_approx_index(x, params)
        # k_factor is relative to the k faiss is asked for; re-rank >= shortlist candidates.
        index.k_factor = float(max(1, math.ceil(params.shortlist / want)))
        # Queries in blocks: the shortlist of every query at once was 100k x 420 scores
        # and labels (0.5 GB), a process peak at 100k posts. Each query is independent:
        # the same result.
        parts = [index.search(q[start : start + QUERY_BLOCK], want)
                 for start in range(0, nq, QUERY_BLOCK)]
        scores = np.concatenate([part[0] for part in parts])
        idx = np.concatenate([part[1] for part in parts])
    del index

    missing = idx < 0
    if drop_self:
        missing |= idx == np.arange(nq, dtype=np.int64)[:, None]
    # Order key: missing slots last, then score (rounded) descending, then index ascending.
    key_score = np.where(missing, np.inf, -np.round(scores.astype(np.float64), TIE_DECIMALS))
    key_idx = np.where(missing, np.iinfo(np.int64).max, idx)
    order = np.lexsort((key_idx, key_score), axis=1)[:, :k_eff]
    sel_idx = np.take_along_axis(idx, order, axis=1)
    sel_score = np.take_along_axis(scores, order, axis=1)
    sel_missing = np.take_along_axis(missing, order, axis=1)
    out_idx[:, :k_eff] = np.where(sel_missing, -1, sel_idx)
    out_score[:, :k_eff] = np.where(sel_missing, 0.0, sel_score)
    return out_idx, out_score


def clustered_unit_vectors(
    n: int,
    dim: int = 512,
    seed: int = 0,
    *,
    clusters: int | None = None,
) -> np.ndarray:
    """Deterministic synthetic "sentence embeddings": unit vectors in overlapping clusters.

    A mixture of ~3 sqrt(n) clusters with log-normal sizes, L2-normalised (so each is a
    von-Mises-Fisher-like cap). Covariances follow a power-law spectrum (lambda_i ~ i^-0.8
    in a random basis, as real embeddings' PCA spectra do). Cluster centres scatter around
    a shared mean direction (norm 0.75, the "all embeddings look alike" offset of USE). A
    point is its centre + spread_c * (a cluster-specific random 32-d subspace: topic
    directions) + isotropic-ish noise of the global spectrum; spread_c ~ U(0.8, 1.6).

    Calibrated on real USE-multilingual embeddings of the two shared corpora (1,254 posts;
    real values in brackets): at n=1,254 it gives norm of the mean 0.39 [0.40-0.45], mean
    pairwise cosine 0.15 [0.16-0.20] (sd 0.11 [0.11]), median nearest-neighbour cosine 0.57
    [0.55], median 10th-neighbour cosine 0.42 [0.41], top-50 PCs 59% of variance [60-64%],
    local intrinsic dimension (MLE, 20-NN) 22 [23-24]. Uniform random unit vectors have a
    local dimension of ~110 and no neighbours worth finding.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    std = np.arange(1, dim + 1, dtype=np.float64) ** -0.4  # sqrt of i^-0.8
    std /= np.sqrt((std**2).sum())
    basis = (std[:, None] * q.T).astype(np.float32)  # row i: i-th axis scaled by its sd
    mu = rng.standard_normal(dim)
    mu *= 0.75 / np.linalg.norm(mu)
    nc = clusters or max(1, int(round(3 * math.sqrt(n))))
    weights = rng.lognormal(0.0, 1.0, nc)
    labels = rng.choice(nc, size=n, p=weights / weights.sum())
    centres = (mu + rng.standard_normal((nc, dim)) @ basis).astype(np.float32)
    spread = rng.uniform(0.8, 1.6, nc).astype(np.float32)
    rank = min(32, dim)
    out = np.empty((n, dim), dtype=np.float32)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(nc + 1))
    for c in range(nc):  # one cluster at a time keeps temporaries small at 700k x 512
        ids = order[bounds[c] : bounds[c + 1]]
        topic = (rng.standard_normal((rank, dim), dtype=np.float32) @ basis) / np.sqrt(rank)
        coords = rng.standard_normal((len(ids), rank), dtype=np.float32)
        block = centres[c] + spread[c] * (coords @ topic)
        block += rng.standard_normal((len(ids), dim), dtype=np.float32) @ basis
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[ids] = block
    return out


def candidate_params(n: int, dim: int) -> Any:
    """The approximate index for candidate lists (`ann.approx_params`, three changes):

    * half as many lists (2 sqrt(n)): the coarse k-means and the assignment of every
      post to a list cost ~nlist each, and they were most of the search;
    * a sixteenth of the lists scanned instead of half (recall@10 ~0.94 for the study's
      one-shot search, ~6x faster);
    * 200 candidates re-ranked exactly instead of 400 (per 105 neighbours asked, 210).

    The lists only feed the fusion (and the tag model's kNN pool, their first 40), whose
    top-4 comes from their head. On 100k posts grown from the shared corpora's real
    embeddings (`benchmarks/ann_search.py --candidates`), against exact search, recall
    @40, @10 and @4 stayed 1.000 through both cuts; recall@100 went 0.997 -> 0.988 (200
    re-ranked) -> 0.983 (half the lists), and the search 35.5 s -> 28.3 s -> 19.5 s."""
    p = approx_params(n, dim, lists_per_root=2.0)
    return replace(p, nprobe=min(p.nlist, max(16, p.nlist // 16)), shortlist=200)
