"""Exact (faiss flat IP) vs approximate top-k search: IVF-PQ fast-scan and HNSW.

Default: the study's search shape, 692,821 database vectors of dimension 512, 21,072
queries, top 10, on synthetic clustered unit vectors calibrated on real USE embeddings
(see blogrec.ann.clustered_unit_vectors). All methods run in the same process on the same
data, so the speed-ups are ratios measured under the same machine load.

    python benchmarks/ann_search.py                  # study shape (exact takes minutes)
    python benchmarks/ann_search.py --n 100000       # blog-platform scale
    python benchmarks/ann_search.py --n 10000
    python benchmarks/ann_search.py --sweep          # self-search k=4: justify AUTO_APPROX_MIN
    python benchmarks/ann_search.py --quick          # small smoke run

Approximate methods at the search shape:

* IVF: blogrec.ann's IVF-PQ fast-scan + exact re-rank (``--nprobes``: extra nprobe values,
  ``--shortlists``: extra re-rank shortlist sizes tried at those nprobes).
* HNSW (``--hnsw``, comma-separated specs, ``--ef``: efSearch values): faiss HNSW graphs,
  e.g. ``m32:efc100`` = IndexHNSWFlat (M=32, efConstruction=100) on the raw vectors by
  inner product; ``pca256:pano8:m32:efc100:kf4`` = the vectors projected on their top 256
  principal axes (numpy PCA, fixed-seed sample), an L2 HNSW over the projections
  (IndexHNSWFlatPanorama with 8 levels: partial distances prune candidates early, which
  the PCA order makes effective), then the top ``kf`` x k candidates re-ranked by exact inner
  products with the original vectors. L2 on centred projections ranks like the inner
  product only because the rows are unit vectors.

Times: "build" is adding to the flat index / training + adding the IVF index / PCA +
building the graph; "search" is the queries alone (for HNSW + PCA: projecting the queries,
the graph search and the exact re-rank). Wall times are the figures; CPU times are also
recorded, and at the end the exact search is re-timed on 10% of the queries (at least
2,000) to show how much the load drifted during the run. Memory: peak RSS above the level
before the step (sampled), the process's overall peak (ru_maxrss), and the index's own size
(codes + ids + graph, computed from its arrays; the re-rank also reads the original
float32 vectors, which exact search needs too). Results go to reports/benchmarks/<name>.json.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import PeakRSS, peak_rss_bytes, print_header, write_results  # noqa: E402

from blogrec import ann  # noqa: E402

STUDY_N, STUDY_Q, STUDY_DIM, STUDY_K = 692_821, 21_072, 512, 10


def recall_at(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean fraction of the true top-k found in the returned top-k."""
    f, t = found[:, :k], truth[:, :k]
    hits = (f[:, :, None] == t[:, None, :]) & (t[:, None, :] >= 0)
    return float(hits.any(axis=2).sum() / max(1, (t >= 0).sum()))


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def timed_cpu(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """(result, wall s, CPU s of this process, all threads)."""
    c0 = time.process_time()
    out, wall = timed(fn, *args, **kwargs)
    return out, wall, time.process_time() - c0


def threshold_row(n: int, index: dict[str, Any], exact_total: float, build_s: float,
                  total_s: float, recall: float) -> dict[str, Any]:
    """One row of the threshold sweep: an index's settings, its cost beside exact search's
    (build + search, seconds) and its recall@4."""
    return {"n": n, **index, "exact_total_s": round(exact_total, 2),
            "approx_build_s": round(build_s, 2), "approx_total_s": round(total_s, 2),
            "speedup_total": round(exact_total / total_s, 2), "recall_at_4": round(recall, 4)}


def drop_self(idx: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """First k entries of each row that are not the query row itself."""
    out = np.full((len(rows), k), -1, dtype=np.int64)
    for r, (cand, me) in enumerate(zip(idx, rows, strict=True)):
        keep = cand[(cand != me) & (cand >= 0)][:k]
        out[r, : len(keep)] = keep
    return out


@dataclass(frozen=True)
class HNSWSpec:
    """One HNSW configuration (see the module docstring for the spec syntax)."""

    m: int = 32  # graph degree (2 M links per vector on level 0)
    ef_construction: int = 100
    pca: int = 0  # 0: graph over the raw vectors by inner product; else projected dims (L2)
    panorama: int = 0  # IndexHNSWFlatPanorama levels (needs pca); 0: IndexHNSWFlat
    k_factor: int = 1  # exact re-rank of k_factor * k candidates (1: none)

    @classmethod
    def parse(cls, text: str) -> HNSWSpec:
        keys = {
            "m": "m",
            "efc": "ef_construction",
            "pca": "pca",
            "pano": "panorama",
            "kf": "k_factor",
        }
        kw: dict[str, int] = {}
        for tok in text.split(":"):
            key = tok.rstrip("0123456789")
            if key not in keys or key == tok:
                raise ValueError(f"bad HNSW spec token {tok!r} in {text!r}")
            kw[keys[key]] = int(tok[len(key) :])
        spec = cls(**kw)
        if spec.panorama and not spec.pca:
            raise ValueError("pano needs pca (Panorama is L2 only, on PCA-ordered dims)")
        return spec

    @property
    def name(self) -> str:
        graph = f"HNSW{self.m}" + (f"-Pano{self.panorama}" if self.panorama else "")
        parts = [f"PCA{self.pca}"] if self.pca else []
        parts += [graph, f"efc{self.ef_construction}"]
        if self.k_factor > 1:
            parts.append(f"re-rank {self.k_factor}k")
        return ",".join(parts)


PCA_SAMPLE = 50_000


class HNSWSearcher:
    """A faiss HNSW graph, optionally over PCA projections with an exact re-rank."""

    def __init__(self, x: np.ndarray, spec: HNSWSpec) -> None:
        import faiss

        self.x, self.spec = x, spec
        n, dim = x.shape
        self.mean: np.ndarray | None = None
        self.proj: np.ndarray | None = None
        if spec.pca:
            rng = np.random.default_rng(ann.SEED)
            rows = np.sort(rng.choice(n, size=min(n, PCA_SAMPLE), replace=False))
            sample = x[rows].astype(np.float64)
            mean = sample.mean(axis=0)
            sample -= mean
            _, vecs = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
            self.mean = mean.astype(np.float32)
            self.proj = np.ascontiguousarray(vecs[:, ::-1][:, : spec.pca], dtype=np.float32)
            if spec.panorama:
                self.index = faiss.IndexHNSWFlatPanorama(spec.pca, spec.m, spec.panorama)
            else:
                self.index = faiss.IndexHNSWFlat(spec.pca, spec.m, faiss.METRIC_L2)
        else:
            self.index = faiss.IndexHNSWFlat(dim, spec.m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = spec.ef_construction
        self.index.add(self._project(x))

    def _project(self, v: np.ndarray) -> np.ndarray:
        if self.proj is None:
            return v
        out = np.empty((len(v), self.proj.shape[1]), dtype=np.float32)
        for s in range(0, len(v), 65_536):  # bounded temporaries at 700k rows
            out[s : s + 65_536] = (v[s : s + 65_536] - self.mean) @ self.proj
        return out

    def search(self, q: np.ndarray, k: int, ef: int) -> tuple[np.ndarray, np.ndarray]:
        self.index.hnsw.efSearch = ef
        kk = k * self.spec.k_factor
        scores, idx = self.index.search(self._project(q), kk)
        if self.spec.k_factor == 1:
            return scores, idx
        return exact_rerank(self.x, q, idx, k)

    def nbytes(self) -> int:
        """Stored vectors + graph (the original vectors used by the re-rank not counted)."""
        h = self.index.hnsw
        graph = h.neighbors.size() * 4 + h.offsets.size() * 8 + h.levels.size() * 4
        return int(self.index.ntotal * self.index.d * 4 + graph)


def exact_rerank(
    x: np.ndarray, q: np.ndarray, cand: np.ndarray, k: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Top k of each row's candidates by exact inner product (ties: smaller index)."""
    nq = len(q)
    out_s = np.full((nq, k), -np.inf, dtype=np.float32)
    out_i = np.full((nq, k), -1, dtype=np.int64)
    for s in range(0, nq, chunk):
        c = cand[s : s + chunk]
        valid = c >= 0
        vecs = x[np.where(valid, c, 0)]  # (rows, kk, dim)
        sc = np.matmul(vecs, q[s : s + chunk, :, None])[..., 0]
        sc[~valid] = -np.inf
        key_i = np.where(valid, c, np.iinfo(np.int64).max)
        order = np.lexsort((key_i, -sc), axis=1)[:, :k]
        out_s[s : s + chunk] = np.take_along_axis(sc, order, axis=1)
        out_i[s : s + chunk] = np.where(
            np.take_along_axis(valid, order, axis=1), np.take_along_axis(c, order, axis=1), -1
        )
    return out_s, out_i


def ivf_nbytes(index: Any, dim: int) -> int:
    """IVF codes + ids (4-bit PQ: pq_m / 2 bytes a vector) + the refine store."""
    import faiss

    base = faiss.downcast_index(index.base_index)
    n = base.ntotal
    return int(n * (base.pq.M * base.pq.nbits // 8 + 8) + base.nlist * dim * 4 + n * dim * 4)


def run_shape(
    n: int,
    nq: int,
    dim: int,
    k: int,
    nprobes: list[int],
    shortlists: list[int],
    hnsw_specs: list[HNSWSpec],
    efs: list[int],
) -> dict[str, Any]:
    import faiss

    print(f"\nshape: n={n:,} dim={dim} queries={nq:,} k={k}", flush=True)
    allx, t_gen = timed(ann.clustered_unit_vectors, n + nq, dim, 0)
    x, q = allx[:n], allx[n:]
    print(f"generated data in {t_gen:.1f} s", flush=True)

    with PeakRSS() as m_exact:
        flat = faiss.IndexFlatIP(dim)
        _, t_exact_build = timed(flat.add, x)
        (_, gt), t_exact, c_exact = timed_cpu(flat.search, q, k)
    print(
        f"exact: build {t_exact_build:.2f} s, search {t_exact:.1f} s (CPU {c_exact:.1f} s)",
        flush=True,
    )

    # Load drift: the exact search is timed again on >= 10% of the queries (>= 2,000:
    # BLAS-sized batches), scaled to all of them, right before each method's sweep and at
    # the end; "local" speed-ups divide by the nearest of these.
    sub = max(min(nq, 2000), nq // 10)
    rechecks: list[dict[str, Any]] = []

    def exact_again(label: str) -> float:
        _, t_re, c_re = timed_cpu(flat.search, q[:sub], k)
        rc = {
            "before": label,
            "queries": sub,
            "search_s_scaled": round(t_re * nq / sub, 1),
            "search_cpu_s_scaled": round(c_re * nq / sub, 1),
            "vs_first": round(t_re * nq / sub / t_exact, 2),
        }
        rechecks.append(rc)
        print(
            f"exact re-timed on {sub:,} queries before {label}: {rc['search_s_scaled']} s "
            f"scaled ({rc['vs_first']}x the first measurement)",
            flush=True,
        )
        return t_re * nq / sub

    def row_for(
        found: np.ndarray, t_search: float, c_search: float, peak: Any, t_local: float
    ) -> dict:
        return {
            "search_s": round(t_search, 3),
            "search_cpu_s": round(c_search, 3),
            "speedup_search": round(t_exact / t_search, 1),
            "speedup_search_local": round(t_local / t_search, 1),
            "speedup_search_cpu": round(c_exact / c_search, 1),
            "recall_at_10": round(recall_at(found, gt, min(10, k)), 4),
            "recall_at_4": round(recall_at(found, gt, min(4, k)), 4),
            "search_peak_rss_delta_mib": peak.delta_mib,
        }

    # IVF-PQ fast-scan + exact re-rank (blogrec.ann's approximate path).
    params = ann.approx_params(n, dim)
    with PeakRSS() as m_build:
        index, t_build = timed(ann.build_approx_index, x, params)
    ivf_mib = round(ivf_nbytes(index, dim) / 2**20, 1)
    print(f"IVF build {t_build:.1f} s, index {ivf_mib} MiB", flush=True)
    base = faiss.downcast_index(index.base_index)
    t_local = exact_again("IVF")
    rows = []
    probes = sorted(set([params.nprobe, *[p for p in nprobes if p <= params.nlist]]))
    for nprobe in probes:
        extra = [s for s in shortlists if s != params.shortlist] if nprobe != params.nprobe else []
        for shortlist in [params.shortlist, *extra]:
            base.nprobe = nprobe
            index.k_factor = float(max(1, math.ceil(shortlist / k)))
            with PeakRSS() as m_search:
                (_, found), t_search, c_search = timed_cpu(index.search, q, k)
            row = {
                "nprobe": nprobe,
                "shortlist": shortlist,
                "default_rule": nprobe == params.nprobe and shortlist == params.shortlist,
                **row_for(found, t_search, c_search, m_search, t_local),
                "speedup_build_plus_search": round(
                    (t_exact_build + t_exact) / (t_build + t_search), 1
                ),
            }
            rows.append(row)
            print(
                f"IVF nprobe={nprobe} shortlist={shortlist}: search {t_search:.2f} s "
                f"({row['speedup_search']}x, local {row['speedup_search_local']}x, "
                f"CPU {row['speedup_search_cpu']}x), "
                f"R@10 {row['recall_at_10']}, R@4 {row['recall_at_4']}",
                flush=True,
            )
    del index, base
    default = next(r for r in rows if r["default_rule"])

    hnsw_results = []
    for spec in hnsw_specs:
        with PeakRSS() as m_hb:
            searcher, t_hb, c_hb = timed_cpu(HNSWSearcher, x, spec)
        mib = round(searcher.nbytes() / 2**20, 1)
        print(
            f"{spec.name}: build {t_hb:.1f} s (CPU {c_hb:.1f} s), index {mib} MiB, "
            f"build peak +{m_hb.delta_mib} MiB",
            flush=True,
        )
        t_local = exact_again(spec.name)
        hrows = []
        for ef in efs:
            with PeakRSS() as m_search:
                (_, found), t_search, c_search = timed_cpu(searcher.search, q, k, ef)
            row = {
                "ef_search": ef,
                "rerank_candidates": k * spec.k_factor if spec.k_factor > 1 else 0,
                **row_for(found, t_search, c_search, m_search, t_local),
            }
            hrows.append(row)
            print(
                f"  efSearch={ef}: search {t_search:.2f} s ({row['speedup_search']}x, "
                f"local {row['speedup_search_local']}x, CPU {row['speedup_search_cpu']}x), "
                f"R@10 {row['recall_at_10']}, "
                f"R@4 {row['recall_at_4']}",
                flush=True,
            )
        hnsw_results.append(
            {
                "name": spec.name,
                "spec": asdict(spec),
                "build_s": round(t_hb, 1),
                "build_cpu_s": round(c_hb, 1),
                "build_peak_rss_delta_mib": m_hb.delta_mib,
                "index_mib": mib,
                "rows": hrows,
            }
        )
        del searcher

    exact_again("the end")
    flat.reset()  # frees its copy of the vectors
    result = {
        "n": n,
        "dim": dim,
        "queries": nq,
        "k": k,
        "generate_s": round(t_gen, 1),
        "data_mib": round(x.nbytes / 2**20, 1),
        "exact": {
            "build_s": round(t_exact_build, 3),
            "search_s": round(t_exact, 3),
            "search_cpu_s": round(c_exact, 3),
            "peak_rss_delta_mib": m_exact.delta_mib,
            "index_mib": round(x.nbytes / 2**20, 1),
        },
        "exact_rechecks": rechecks,
        "approx": {
            "params": params.as_dict(),
            "build_s": round(t_build, 3),
            "build_peak_rss_delta_mib": m_build.delta_mib,
            "index_mib": ivf_mib,
            **{kk: v for kk, v in default.items() if kk not in ("nprobe", "default_rule")},
        },
        "approx_nprobe_frontier": rows,
        "hnsw": hnsw_results,
        "process_peak_rss_mib": round(peak_rss_bytes() / 2**20, 1),
    }
    print_shape_table(result)
    return result


def print_shape_table(r: dict[str, Any]) -> None:
    e, a = r["exact"], r["approx"]
    p = a["params"]
    print(
        f"\n| n={r['n']:,} q={r['queries']:,} d={r['dim']} k={r['k']} | build s | search s "
        f"| speed-up (search) | local | CPU | recall@10 | recall@4 | index MiB "
        f"| build peak +MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| exact (IndexFlatIP) | {e['build_s']} | {e['search_s']} | 1 | 1 | 1 | 1 | 1 "
        f"| {e['index_mib']} | {e['peak_rss_delta_mib']} |"
    )
    for row in r["approx_nprobe_frontier"]:
        print(
            f"| IVF{p['nlist']},PQ{p['pq_m']}x4fs, nprobe {row['nprobe']}, re-rank "
            f"{row['shortlist']}{' (default)' if row['default_rule'] else ''} | {a['build_s']} "
            f"| {row['search_s']} | {row['speedup_search']}x | {row['speedup_search_local']}x "
            f"| {row['speedup_search_cpu']}x "
            f"| {row['recall_at_10']} | {row['recall_at_4']} | {a['index_mib']} "
            f"| {a['build_peak_rss_delta_mib']} |"
        )
    for h in r["hnsw"]:
        for row in h["rows"]:
            print(
                f"| {h['name']}, efSearch {row['ef_search']} | {h['build_s']} "
                f"| {row['search_s']} | {row['speedup_search']}x "
                f"| {row['speedup_search_local']}x | {row['speedup_search_cpu']}x "
                f"| {row['recall_at_10']} | {row['recall_at_4']} | {h['index_mib']} "
                f"| {h['build_peak_rss_delta_mib']} |"
            )
    rcs = ", ".join(f"{rc['before']} {rc['search_s_scaled']} s" for rc in r["exact_rechecks"])
    print(
        f"exact re-timed (scaled to all queries) before {rcs}; "
        f"IVF default build + search speed-up {a['speedup_build_plus_search']}x; "
        f"process peak RSS {r['process_peak_rss_mib']} MiB; data {r['data_mib']} MiB"
    )


def run_sweep(
    sizes: list[int], dim: int, sample: int, nprobes: list[int], hnsw_efs: list[int]
) -> dict[str, Any]:
    """Self-search with k=4 (the related-posts case): every post is a query.

    Exact self-search is n^2; running it for all n queries at n=200k would take an hour
    here, so all methods search the same fixed sample of rows and the search time is
    scaled to n queries (search time is linear in the number of queries). Build times are
    measured in full. With ``hnsw_efs``, blogrec.ann's HNSW option (``HNSWParams``) is
    measured the same way at those efSearch values.
    """
    import faiss

    k = 4
    out = []
    for n in sizes:
        x = ann.clustered_unit_vectors(n, dim, seed=1)
        rows = np.sort(np.random.default_rng(2).choice(n, size=min(sample, n), replace=False))
        q = x[rows]
        scale = n / len(rows)
        flat = faiss.IndexFlatIP(dim)
        _, t_eb = timed(flat.add, x)
        (_, gt_raw), t_es = timed(flat.search, q, k + 1 + ann.TIE_PAD)
        del flat
        gt = drop_self(gt_raw, rows, k)
        exact_total = t_eb + t_es * scale
        params = ann.approx_params(n, dim)
        index, t_ab = timed(ann.build_approx_index, x, params)
        base = faiss.downcast_index(index.base_index)
        want = k + 1 + ann.TIE_PAD
        index.k_factor = float(max(1, math.ceil(params.shortlist / want)))
        for nprobe in sorted(set([params.nprobe, *[p for p in nprobes if p <= params.nlist]])):
            base.nprobe = nprobe
            (_, found_raw), t_as = timed(index.search, q, want)
            found = drop_self(found_raw, rows, k)
            approx_total = t_ab + t_as * scale
            row = threshold_row(
                n, {"index": "ivf", "nlist": params.nlist, "nprobe": nprobe,
                    "default_rule": nprobe == params.nprobe},
                exact_total, t_ab, approx_total, recall_at(found, gt, k))
            out.append(row)
            print(
                f"n={n:>7,} nlist={params.nlist:>5} nprobe={nprobe:>4}"
                f"{'*' if row['default_rule'] else ' '} exact {exact_total:8.1f} s  "
                f"approx {approx_total:8.1f} s (build {t_ab:.1f})  "
                f"speed-up {row['speedup_total']:5.2f}x  R@4 {row['recall_at_4']:.4f}",
                flush=True,
            )
        del index, base
        if hnsw_efs:
            hp = ann.HNSWParams()
            index, t_hb = timed(ann.build_hnsw_index, x, hp)
            for ef in hnsw_efs:
                sp = faiss.SearchParametersHNSW()
                sp.efSearch = max(ef, want)
                (_, found_raw), t_hs = timed(index.search, q, want, params=sp)
                found = drop_self(found_raw, rows, k)
                hnsw_total = t_hb + t_hs * scale
                row = threshold_row(
                    n, {"index": "hnsw", "m": hp.m, "ef_construction": hp.ef_construction,
                        "ef_search": ef},
                    exact_total, t_hb, hnsw_total, recall_at(found, gt, k))
                out.append(row)
                print(
                    f"n={n:>7,} HNSW{hp.m} efSearch={ef:>4}   exact {exact_total:8.1f} s  "
                    f"approx {hnsw_total:8.1f} s (build {t_hb:.1f})  "
                    f"speed-up {row['speedup_total']:5.2f}x  R@4 {row['recall_at_4']:.4f}",
                    flush=True,
                )
            del index
        del x
    return {"k": k, "query_sample": sample, "rows": out}


def real_embeddings(corpora: list[str]) -> dict[str, np.ndarray]:
    """USE-multilingual embeddings of the shared corpora (cached by blogrec.features)."""
    from blogrec.corpus import load_corpus
    from blogrec.encoders import USEMultilingual
    from blogrec.features import Features

    enc = USEMultilingual()
    out = {}
    for path in corpora:
        posts = load_corpus(path).posts
        out[Path(path).name] = np.asarray(
            Features(posts, enc, "/tmp/blogrec-cache").use(), dtype=np.float32
        )
    return out


def real_seeded(seeds: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n unit vectors around real embeddings: seed post + noise with the real covariance.

    Each point is a random real post's vector plus Gaussian noise drawn from the real
    vectors' own covariance (scaled by 0.6), so new points spread along the directions
    real posts vary in, then L2-normalised: a "grown" blog whose topics are the real ones.
    """
    rng = np.random.default_rng(seed)
    centred = seeds - seeds.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    cov_sqrt = (sv[:, None] * vt / np.sqrt(len(seeds))).astype(np.float32)
    pick = rng.integers(0, len(seeds), size=n)
    x = seeds[pick] + 0.6 * (rng.standard_normal((n, len(sv)), dtype=np.float32) @ cov_sqrt)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def run_real(corpora: list[str], sizes: list[int], sample: int) -> dict[str, Any]:
    """recall@4 (self-search) of forced approx vs exact on real and real-seeded vectors."""
    real = real_embeddings(corpora)
    rows = []
    for name, v in [*real.items(), ("all", np.concatenate(list(real.values())))]:
        e, _ = ann.search(v, 4, mode="exact")
        a, _ = ann.search(v, 4, mode="approx")
        r = recall_at(a, e, 4)
        rows.append({"data": f"real {name}", "n": len(v), "recall_at_4": round(r, 4)})
        print(f"real {name:8s} n={len(v):>7,} forced approx R@4 {r:.4f}", flush=True)
    seeds = np.concatenate(list(real.values()))
    for n in sizes:
        x = real_seeded(seeds, n)
        pick = np.sort(np.random.default_rng(2).choice(n, size=min(sample, n), replace=False))
        e, _ = ann.search(x, 4, queries=x[pick], mode="exact", exclude_self=False)
        params = ann.approx_params(n, x.shape[1])
        a, _ = ann.search(x, 4, queries=x[pick], mode="approx", exclude_self=False)
        r = recall_at(a, e, 4)
        rows.append(
            {
                "data": "real-seeded",
                "n": n,
                "nprobe": params.nprobe,
                "nlist": params.nlist,
                "recall_at_4": round(r, 4),
            }
        )
        print(
            f"real-seeded n={n:>7,} nlist={params.nlist} nprobe={params.nprobe} "
            f"R@4 {r:.4f} ({len(pick)} query rows, self included)",
            flush=True,
        )
    return {"k": 4, "rows": rows}


def run_candidates(corpora: list[str], n: int, sample: int) -> dict[str, Any]:
    """Related posts' candidate search (`related.candidate_params`: 100 neighbours per
    post) against its earlier settings, on n real-seeded vectors: time of a full self-search
    and recall@100/40/10/4 of `sample` query rows against exact search."""
    from dataclasses import replace

    from blogrec.related import candidate_params

    seeds = np.concatenate(list(real_embeddings(corpora).values()))
    x = real_seeded(seeds, n)
    pick = np.sort(np.random.default_rng(0).choice(n, size=min(sample, n), replace=False))
    truth, _ = ann.search(x, 101, queries=x[pick], mode="exact", exclude_self=False)
    truth = truth[:, 1:]  # the row itself first: every row is in the database
    now = candidate_params(n, x.shape[1])
    wide = ann.approx_params(n, x.shape[1])
    settings = [
        ("4 sqrt(n) lists, 400 re-ranked (to 2026-11-23)",
         replace(wide, nprobe=max(16, wide.nlist // 16))),
        ("4 sqrt(n) lists, 200 re-ranked", replace(wide, nprobe=max(16, wide.nlist // 16),
                                                   shortlist=200)),
        ("candidate_params (2 sqrt(n) lists, 200 re-ranked)", now),
    ]
    rows = []
    for label, params in settings:
        (found, _), seconds = timed(ann.search, x, 100, params=params)
        found = found[pick]
        row = {"setting": label, **params.as_dict(), "seconds": round(seconds, 2)}
        for k in (100, 40, 10, 4):
            row[f"recall_at_{k}"] = round(recall_at(found, truth, k), 4)
        rows.append(row)
        print(f"{label:52s} {seconds:6.1f} s  R@100 {row['recall_at_100']:.4f}  "
              f"R@40 {row['recall_at_40']:.4f}  R@10 {row['recall_at_10']:.4f}  "
              f"R@4 {row['recall_at_4']:.4f}", flush=True)
    return {"n": n, "query_sample": len(pick), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=STUDY_N, help="database vectors")
    ap.add_argument("--queries", type=int, default=STUDY_Q)
    ap.add_argument("--dim", type=int, default=STUDY_DIM)
    ap.add_argument("--k", type=int, default=STUDY_K)
    ap.add_argument("--nprobes", default="", help="extra nprobe values to try, e.g. 64,256")
    ap.add_argument(
        "--shortlists", default="", help="extra IVF re-rank shortlists at those nprobes"
    )
    ap.add_argument(
        "--hnsw",
        default="m32:efc100,pca256:pano8:m32:efc100:kf4",
        help="HNSW specs, comma-separated ('' for none); see the docstring",
    )
    ap.add_argument("--ef", default="16,32,64,128", help="HNSW efSearch values")
    ap.add_argument("--sweep", action="store_true", help="self-search k=4 threshold sweep")
    ap.add_argument("--sizes", default="10000,20000,50000,100000,200000")
    ap.add_argument(
        "--sweep-hnsw-ef", default="", help="--sweep: also HNSW at these efSearch, e.g. 64,256"
    )
    ap.add_argument("--sample", type=int, default=2000, help="query rows sampled in --sweep")
    ap.add_argument(
        "--real",
        action="store_true",
        help="recall on real USE embeddings of the shared corpora (and seeded)",
    )
    ap.add_argument(
        "--candidates",
        action="store_true",
        help="related posts' candidate search on --n real-seeded vectors (default 100k)",
    )
    ap.add_argument("--corpora", default="/work/shared/corpora/ja-efcl,/work/shared/corpora/en-18f")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--name", default=None, help="JSON name (default: derived from the run)")
    args = ap.parse_args(argv)
    nprobes = [int(v) for v in args.nprobes.split(",") if v]
    machine = print_header("ANN search: exact vs approximate (faiss)")
    print(f"AUTO_APPROX_MIN = {ann.AUTO_APPROX_MIN:,}")
    if args.candidates:
        n = 100_000 if args.n == STUDY_N else args.n
        result = run_candidates(args.corpora.split(","), n, args.sample)
        name = args.name or "ann_candidates"
    elif args.real:
        sizes = [int(v) for v in args.sizes.split(",")]
        result = run_real(args.corpora.split(","), sizes, args.sample)
        name = args.name or "ann_real_recall"
    elif args.sweep:
        sizes = [2000, 5000, 10000] if args.quick else [int(v) for v in args.sizes.split(",")]
        efs = [int(v) for v in args.sweep_hnsw_ef.split(",") if v]
        result = run_sweep(sizes, args.dim, args.sample, nprobes, efs)
        name = args.name or "ann_threshold_sweep"
    else:
        n, nq = (20_000, 2_000) if args.quick else (args.n, args.queries)
        specs = [HNSWSpec.parse(v) for v in args.hnsw.split(",") if v]
        result = run_shape(
            n,
            nq,
            args.dim,
            args.k,
            nprobes,
            [int(v) for v in args.shortlists.split(",") if v],
            specs,
            [int(v) for v in args.ef.split(",") if v],
        )
        name = args.name or ("ann_search" if n == STUDY_N else f"ann_search_n{n}")
    result = {
        "benchmark": "ann_search",
        "machine": machine,
        "auto_approx_min": ann.AUTO_APPROX_MIN,
        **result,
        "machine_after": print_header("done"),
    }
    path = write_results(name, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
