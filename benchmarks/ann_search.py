"""Exact (faiss flat IP) vs approximate top-k search, timed in alternating query blocks.

Default: the study's search shape, 692,821 database vectors of dimension 512, 21,072
queries, top 10, on synthetic clustered unit vectors calibrated on real USE embeddings
(see blogrec.ann.clustered_unit_vectors), then a recall check of the same index settings
on the real USE vectors of the shared corpora and sites.

    python benchmarks/ann_search.py --scann-python "$SCANN_VENV/bin/python"  # study shape
    python benchmarks/ann_search.py --n 50000 --queries 4000 --scann-leaves 200 \
        --scann-settings 10:100,20:200                   # smoke run (~4 minutes)
    python benchmarks/ann_search.py --sweep          # self-search k=4: justify AUTO_APPROX_MIN
    python benchmarks/ann_search.py --real           # forced approx recall@4 on real vectors

Timing on a shared machine: the load moves exact search 2-6x within minutes here, so a
speed-up is only a ratio of times taken in the same minutes. The queries are cut into
``--blocks`` blocks; for each block exact search (IndexFlatIP) runs, then every
approximate setting on the same queries (order rotated per block), then the next block's
exact search; one closing exact block ends the run. A setting's speed-up in a block is
the exact time of those queries (mean per-query rate of the exact blocks before and after
it) over its own time; the table gives min / median / max over blocks. "build+search" is
(exact build + exact search of all queries) / (build + search of all queries): what a
build job that makes the index once for one batch pays. Load averages are recorded
before, after and at each block.

Approximate methods (a few settings per family; search settings share one build):

* IVF fast-scan: blogrec.ann's IVF-PQ 4-bit fast-scan + exact re-rank: its default, and
  ``--ivf`` nprobe:shortlist settings.
* OPQ IVF fast-scan + refine (``--opq``: faiss index_factory chains, ``--opq-settings``
  nprobe:k_factor): e.g. OPQ rotation to 256 dims, IVF, 4-bit PQ fast-scan of residuals
  and an IndexRefineFlat exact re-rank of k_factor x k candidates.
* HNSW (``--hnsw``, comma-separated specs; ``--ef`` / ``--pca-ef``: efSearch values):
  ``m32:efc100`` = IndexHNSWFlat (M=32, efConstruction=100) on the raw vectors by inner
  product; ``pca256:pano8:m32:efc64:kf8`` = the vectors projected on their top 256
  principal axes (numpy PCA, fixed-seed sample), an L2 HNSW over the projections
  (IndexHNSWFlatPanorama with 8 levels: partial distances prune candidates early, which
  the PCA order makes effective), then the top ``kf`` x k candidates re-ranked by exact
  inner products. L2 on centred projections ranks like the inner product only because
  the rows are unit vectors.
* ScaNN, the study's library, in its own interpreter (``--scann-python``; it cannot be
  imported beside TensorFlow): benchmarks/scann_peer.py loads the same vectors from .npy
  files in a temporary directory, builds a tree of ``--scann-leaves`` leaves with
  asymmetric hashing (2 dims per block, anisotropic threshold 0.2) and reorder, and
  searches its block when asked, so its blocks alternate with exact search like faiss's.
  Its times are taken inside its process around the search call; its build is timed
  there too. Without ``--scann-python`` the ScaNN rows are "not run".

All faiss searches use faiss's OpenMP threads (2 here); ScaNN uses
``search_batched_parallel``. Results go to reports/benchmarks/<name>.json, with each
block's times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import REPO, peak_rss_bytes, print_header, write_results  # noqa: E402

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


@dataclass
class Method:
    """One searchable configuration: its family's build, and a search of a query block."""

    family: str
    name: str
    build: str  # key of the build it searches (builds are shared by search settings)
    search: Callable[[np.ndarray], np.ndarray]  # queries -> (rows, k) ids


def ivf_methods(x: np.ndarray, k: int, settings: list[tuple[int, int]], builds: dict,
                methods: list[Method]) -> None:
    """blogrec.ann's IVF-PQ fast-scan + exact re-rank: its default, then (nprobe, shortlist)."""
    import faiss

    params = ann.approx_params(*x.shape)
    index, wall, cpu = timed_cpu(ann.build_approx_index, x, params)
    base = faiss.downcast_index(index.base_index)
    key = f"IVF{params.nlist},PQ{params.pq_m}x4fs"
    builds[key] = {"build_s": wall, "build_cpu_s": cpu,
                   "index_mib": round(ivf_nbytes(index, x.shape[1]) / 2**20, 1)}
    print(f"{key}: build {wall:.1f} s (CPU {cpu:.1f} s)", flush=True)
    for nprobe, shortlist in [(params.nprobe, params.shortlist), *settings]:
        def search(q: np.ndarray, nprobe: int = nprobe, shortlist: int = shortlist) -> np.ndarray:
            base.nprobe = nprobe
            index.k_factor = float(max(1, math.ceil(shortlist / k)))
            return index.search(q, k)[1]

        default = " (blogrec default)" if nprobe == params.nprobe else ""
        methods.append(Method("IVF fast-scan", f"{key}, nprobe {nprobe}, re-rank {shortlist}"
                              f"{default}", key, search))


def opq_methods(x: np.ndarray, k: int, factory: str, settings: list[tuple[int, int]],
                builds: dict, methods: list[Method]) -> None:
    """A faiss index_factory chain (e.g. OPQ + IVF fast-scan + IndexRefineFlat), searched at
    (nprobe, k_factor) settings. OPQ's rotation is orthogonal, so inner products survive."""
    import faiss

    def build() -> Any:
        index = faiss.index_factory(x.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(ann.SEED)
        # Training on a fixed-seed sample (as blogrec.ann): OPQ and k-means cost ~ sample.
        train = x[np.sort(rng.choice(len(x), size=min(len(x), OPQ_TRAIN), replace=False))]
        index.train(train)
        index.add(x)
        return index

    index, wall, cpu = timed_cpu(build)
    ivf = faiss.extract_index_ivf(index)
    refine = faiss.downcast_index(index) if "RFlat" in factory else None
    builds[factory] = {"build_s": wall, "build_cpu_s": cpu}
    print(f"{factory}: build {wall:.1f} s (CPU {cpu:.1f} s)", flush=True)
    for nprobe, kf in settings:
        def search(q: np.ndarray, nprobe: int = nprobe, kf: int = kf) -> np.ndarray:
            ivf.nprobe = nprobe
            if refine is not None:
                refine.k_factor = float(kf)
            return index.search(q, k)[1]

        methods.append(Method("OPQ IVF fast-scan + refine", f"{factory}, nprobe {nprobe}, "
                              f"re-rank {kf * k}", factory, search))


def hnsw_methods(x: np.ndarray, k: int, spec: HNSWSpec, efs: list[int], builds: dict,
                 methods: list[Method]) -> None:
    searcher, wall, cpu = timed_cpu(HNSWSearcher, x, spec)
    builds[spec.name] = {"build_s": wall, "build_cpu_s": cpu,
                         "index_mib": round(searcher.nbytes() / 2**20, 1)}
    print(f"{spec.name}: build {wall:.1f} s (CPU {cpu:.1f} s)", flush=True)
    for ef in efs:
        def search(q: np.ndarray, ef: int = ef) -> np.ndarray:
            return searcher.search(q, k, ef)[1]

        family = "HNSW on PCA" if spec.pca else "HNSW"
        methods.append(Method(family, f"{spec.name}, efSearch {ef}", spec.name, search))


OPQ_TRAIN = 65_536


class ScannPeer:
    """The ScaNN worker (benchmarks/scann_peer.py) in its own interpreter, over pipes."""

    def __init__(self, python: str, data_dir: Path, k: int) -> None:
        script = Path(__file__).resolve().parent / "scann_peer.py"
        self.proc = subprocess.Popen(
            [python, str(script), "--data", str(data_dir), "--k", str(k)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.hello = self.ask(None)

    def ask(self, req: dict | None) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if req is not None:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"ScaNN worker exited (code {self.proc.wait()})")
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError(f"ScaNN worker: {out['error']}")
        return out

    def close(self) -> None:
        try:
            self.ask({"cmd": "quit"})
        finally:
            self.proc.wait(timeout=60)


def parse_pairs(text: str) -> list[tuple[int, int]]:
    """'64:100,128:200' -> [(64, 100), (128, 200)]."""
    return [tuple(int(v) for v in p.split(":")) for p in text.split(",") if p]  # type: ignore[misc]


def spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 1), "median": round(float(np.median(values)), 1),
            "max": round(max(values), 1)}


def run_shape(args: argparse.Namespace) -> dict[str, Any]:
    """Exact vs every approximate method, timed in alternating query blocks.

    Query blocks go exact, then each method (rotating their order), then the next block's
    exact, ...; one more exact block closes the run. A method's speed-up in block b is the
    exact time of that block (per query: the mean of the exact blocks before and after it,
    so drift during the block hits both sides) over the method's time on the same queries.
    """
    import faiss

    n, nq, dim, k = args.n, args.queries, args.dim, args.k
    load_before = os.getloadavg()
    print(f"\nshape: n={n:,} dim={dim} queries={nq:,} k={k}; load {load_before}", flush=True)
    allx, t_gen = timed(ann.clustered_unit_vectors, n + nq, dim, 0)
    x, q = allx[:n], allx[n:]
    del allx
    print(f"generated data in {t_gen:.1f} s", flush=True)

    flat = faiss.IndexFlatIP(dim)
    _, t_exact_build = timed(flat.add, x)
    builds: dict[str, dict[str, Any]] = {}
    methods: list[Method] = []
    ivf_methods(x, k, parse_pairs(args.ivf), builds, methods)
    for factory in [f for f in args.opq.split(";") if f]:
        opq_methods(x, k, factory, parse_pairs(args.opq_settings), builds, methods)
    for text in [t for t in args.hnsw.split(",") if t]:
        spec = HNSWSpec.parse(text)
        efs = args.pca_ef if spec.pca else args.ef
        hnsw_methods(x, k, spec, [int(v) for v in efs.split(",") if v], builds, methods)

    tmp = tempfile.TemporaryDirectory(prefix="ann-scann-")
    peer, scann_cfgs, scann_note = None, parse_pairs(args.scann_settings), ""
    if args.scann_python:
        np.save(Path(tmp.name) / "x.npy", x)
        np.save(Path(tmp.name) / "q.npy", q)
        peer = ScannPeer(args.scann_python, Path(tmp.name), k)
        first = scann_cfgs[0]
        b = peer.ask({"cmd": "build", "leaves": args.scann_leaves, "leaves_to_search": first[0],
                      "reorder": first[1], "dims_per_block": 2, "threshold": 0.2})
        key = f"ScaNN {peer.hello['scann']} tree{args.scann_leaves},AH2,t0.2"
        builds[key] = {"build_s": b["build_s"], "build_cpu_s": b["build_cpu_s"]}
        print(f"{key}: build {b['build_s']:.1f} s (CPU {b['build_cpu_s']:.1f} s, its process)",
              flush=True)
        scann_note = "ScaNN timed in its own process, in the same alternating blocks"
    else:
        scann_note = "ScaNN not run: no --scann-python (scann cannot load beside TensorFlow)"
        print(scann_note, flush=True)

    # Each method's search, as a block-time function; ScaNN's are requests to the worker.
    names = [m.name for m in methods]
    families = {m.name: (m.family, m.build) for m in methods}
    runners: dict[str, Callable[[int, int], float]] = {}
    found: dict[str, list[np.ndarray]] = {m.name: [] for m in methods}
    for m in methods:
        def run(s: int, e: int, m: Method = m) -> float:
            out, t = timed(m.search, q[s:e])
            found[m.name].append(np.asarray(out, dtype=np.int64))
            return t

        runners[m.name] = run
    if peer is not None:
        for lts, reorder in scann_cfgs:
            name = f"{key}, leaves_to_search {lts}, reorder {reorder}"
            names.append(name)
            families[name] = ("ScaNN", key)

            def run_s(s: int, e: int, lts: int = lts, reorder: int = reorder,
                      name: str = name) -> float:
                return peer.ask({"cmd": "search", "start": s, "stop": e, "key": name,
                                 "leaves_to_search": lts, "reorder": reorder})["search_s"]

            runners[name] = run_s

    bounds = np.linspace(0, nq, args.blocks + 1).astype(int)
    exact_t, gt_parts, loads = [], [], []
    times: dict[str, list[float]] = {nm: [] for nm in names}
    t_run0 = time.perf_counter()
    for b in range(args.blocks):
        s, e = int(bounds[b]), int(bounds[b + 1])
        (_, gt_b), t = timed(flat.search, q[s:e], k)
        exact_t.append(t)
        gt_parts.append(gt_b)
        rot = b % len(names)
        for nm in names[rot:] + names[:rot]:  # rotated: no method always right after exact
            times[nm].append(runners[nm](s, e))
        loads.append(round(os.getloadavg()[0], 2))
        print(f"block {b + 1}/{args.blocks} ({e - s:,} queries): exact {t:.2f} s, "
              f"approx {sum(times[nm][-1] for nm in names):.2f} s, load {loads[-1]}", flush=True)
    # The closing exact block (block 0's queries again): the "after" side of the last block.
    (_, _), t_close = timed(flat.search, q[: int(bounds[1])], k)
    per_q = [t / (bounds[i + 1] - bounds[i]) for i, t in enumerate(exact_t)]
    per_q.append(t_close / bounds[1])
    gt = np.concatenate(gt_parts)
    t_exact = float(sum(exact_t))

    rows = []
    for nm in names:
        fam, bkey = families[nm]
        if fam == "ScaNN":
            path = Path(tmp.name) / "scann-found.npy"
            peer.ask({"cmd": "save", "key": nm, "path": str(path)})  # type: ignore[union-attr]
            idx = np.load(path)
        else:
            idx = np.concatenate(found.pop(nm))
        ups = [0.5 * (per_q[b] + per_q[b + 1]) * (bounds[b + 1] - bounds[b]) / t
               for b, t in enumerate(times[nm])]
        search_s = float(sum(times[nm]))
        bs = builds[bkey]["build_s"]
        rows.append({
            "family": fam, "method": nm, "build": bkey, "search_s": round(search_s, 3),
            "speedup_search": spread(ups),
            "build_s": round(bs, 1),
            "speedup_build_plus_search": round((t_exact_build + t_exact) / (bs + search_s), 2),
            "recall_at_10": round(recall_at(idx, gt, min(10, k)), 4),
            "recall_at_4": round(recall_at(idx, gt, min(4, k)), 4),
            "block_search_s": [round(t, 3) for t in times[nm]],
        })
    if peer is not None:
        peer.close()
    tmp.cleanup()
    load_after = os.getloadavg()
    result = {
        "n": n, "queries": nq, "dim": dim, "k": k, "blocks": args.blocks,
        "load_before_1_5_15": [round(v, 2) for v in load_before],
        "load_after_1_5_15": [round(v, 2) for v in load_after],
        "load_1min_after_each_block": loads,
        "alternation_s": round(time.perf_counter() - t_run0, 1),
        "threads": faiss.omp_get_max_threads(),
        "exact": {"build_s": round(t_exact_build, 2), "search_s": round(t_exact, 2),
                  "block_search_s": [round(t, 2) for t in exact_t],
                  "closing_block_s": round(t_close, 2)},
        "builds": {kk: {a: round(v, 1) if isinstance(v, float) else v for a, v in b.items()}
                   for kk, b in builds.items()},
        "scann": scann_note,
        "rows": rows,
        "process_peak_rss_mib": round(peak_rss_bytes() / 2**20, 1),
    }
    print_shape_table(result)
    return result


def print_shape_table(r: dict[str, Any]) -> None:
    e = r["exact"]
    print(f"\nn={r['n']:,} x {r['dim']}, {r['queries']:,} queries, top {r['k']}, "
          f"{r['blocks']} alternating blocks; exact search {e['search_s']} s "
          f"(blocks {min(e['block_search_s'])}-{max(e['block_search_s'])} s), build "
          f"{e['build_s']} s; load before {r['load_before_1_5_15']}, after "
          f"{r['load_after_1_5_15']}; {r['scann']}")
    print("\n| method | search s | speed-up min / median / max | build s "
          "| build+search speed-up | recall@10 | recall@4 |")
    print("|---|---|---|---|---|---|---|")
    for row in r["rows"]:
        sp = row["speedup_search"]
        print(f"| {row['method']} | {row['search_s']:.2f} | {sp['min']} / **{sp['median']}x** "
              f"/ {sp['max']} | {row['build_s']} | {row['speedup_build_plus_search']}x "
              f"| {row['recall_at_10']:.3f} | {row['recall_at_4']:.3f} |")


def self_truth(v: np.ndarray, k: int) -> np.ndarray:
    import faiss

    flat = faiss.IndexFlatIP(v.shape[1])
    flat.add(v)
    return drop_self(flat.search(v, k + 1 + ann.TIE_PAD)[1], np.arange(len(v)), k)


def run_real_vs_synthetic(args: argparse.Namespace, dim: int) -> dict[str, Any]:
    """Self-search recall (top 10, self excluded) on the real USE vectors of the shared
    corpora and sites, and on as many synthetic vectors (clustered_unit_vectors, calibrated
    on those embeddings), with the same index settings: how far synthetic recall is from
    real. IVF lists scale with n (blogrec's rule), nprobe as the same share of the lists as
    in the main table; HNSW settings are taken as they are."""
    import faiss

    real = real_embeddings(args.corpora.split(","), args.cache_dir)
    v_real = np.concatenate(list(real.values()))
    n = len(v_real)
    v_syn = ann.clustered_unit_vectors(n, dim, seed=3)
    k, want = 10, 10 + 1 + ann.TIE_PAD
    big = ann.approx_params(args.n, dim)
    small = ann.approx_params(n, dim)
    ivf_settings = [(big.nprobe, big.shortlist), *parse_pairs(args.ivf)]
    out = []
    for label, v in (("real", v_real), ("synthetic", v_syn)):
        gt, rows = self_truth(v, k), np.arange(n)
        index = ann.build_approx_index(v, small)
        base = faiss.downcast_index(index.base_index)
        for nprobe_big, shortlist in ivf_settings:
            share = nprobe_big / big.nlist
            base.nprobe = max(1, round(share * small.nlist))
            index.k_factor = float(max(1, math.ceil(shortlist / want)))
            found = drop_self(index.search(v, want)[1], rows, k)
            out.append({"data": label, "n": n, "setting": f"IVF{small.nlist}, nprobe "
                        f"{base.nprobe} (share {share:.3f}), re-rank {shortlist}",
                        "recall_at_10": recall_at(found, gt, 10),
                        "recall_at_4": recall_at(found, gt, 4)})
        for text in [t for t in args.hnsw.split(",") if t]:
            spec = HNSWSpec.parse(text)
            searcher = HNSWSearcher(v, spec)
            for ef in [int(e) for e in (args.pca_ef if spec.pca else args.ef).split(",") if e]:
                found = drop_self(searcher.search(v, want, ef)[1], rows, k)
                out.append({"data": label, "n": n, "setting": f"{spec.name}, efSearch {ef}",
                            "recall_at_10": recall_at(found, gt, 10),
                            "recall_at_4": recall_at(found, gt, 4)})
    by = {}
    for r in out:
        by.setdefault(r["setting"], {})[r["data"]] = r
    print(f"\nreal vs synthetic, self-search top 10 on n={n:,} ({', '.join(real)}):")
    print("| setting | recall@10 real | synthetic | gap | recall@4 real | synthetic |")
    print("|---|---|---|---|---|---|")
    table = []
    for setting, d in by.items():
        re_, sy = d["real"], d["synthetic"]
        gap = sy["recall_at_10"] - re_["recall_at_10"]
        table.append({"setting": setting, "real_r10": round(re_["recall_at_10"], 4),
                      "synthetic_r10": round(sy["recall_at_10"], 4), "gap_r10": round(gap, 4),
                      "real_r4": round(re_["recall_at_4"], 4),
                      "synthetic_r4": round(sy["recall_at_4"], 4)})
        print(f"| {setting} | {re_['recall_at_10']:.3f} | {sy['recall_at_10']:.3f} "
              f"| {gap:+.3f} | {re_['recall_at_4']:.3f} | {sy['recall_at_4']:.3f} |")
    return {"n": n, "sources": {kk: len(vv) for kk, vv in real.items()}, "rows": table}


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


DEFAULT_REAL = (
    "../shared/corpora/ja-efcl,../shared/corpora/en-18f,"
    "../shared/sites/hugo-digitalgov/content,../shared/sites/hugo-otel/content"
)


def repo_path(p: str) -> Path:
    """A path argument: relative paths are relative to the repository root."""
    path = Path(p).expanduser()
    return path if path.is_absolute() else (REPO / path).resolve()


def real_embeddings(corpora: list[str], cache_dir: str | None = None) -> dict[str, np.ndarray]:
    """USE-multilingual embeddings of posts under each root, through blogrec's cache.

    The same call as a build (`Features.use`, namespace = the posts directory), so the
    cache a build of those sites left is reused and this run's is kept for the next."""
    from blogrec.build import default_cache_dir
    from blogrec.corpus import load_corpus
    from blogrec.embeddings import USEMultilingual
    from blogrec.features import Features

    enc = USEMultilingual()
    out = {}
    for p in corpora:
        root = repo_path(p)
        posts = load_corpus(root).posts
        feats = Features(posts, enc, cache_dir or default_cache_dir(), namespace=str(root))
        out[f"{root.parent.name}/{root.name}"] = np.asarray(feats.use(), dtype=np.float32)
        feats.save_cache()
        print(f"real {root}: {len(posts):,} posts, {feats.encoded:,} embedded now", flush=True)
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

    from blogrec.ann import candidate_params

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
    ap.add_argument("--nprobes", default="", help="--sweep: extra nprobe values, e.g. 64,256")
    ap.add_argument(
        "--ivf", default="32:100,64:100,128:200,256:200",
        help="IVF fast-scan nprobe:shortlist settings beside blogrec's default",
    )
    ap.add_argument(
        "--opq", default="OPQ64_256,IVF2048,PQ64x4fsr,RFlat",
        help="faiss index_factory chains, ';'-separated ('' for none), searched by --opq-settings",
    )
    ap.add_argument("--opq-settings", default="16:10,32:10,64:20", help="nprobe:k_factor")
    ap.add_argument(
        "--hnsw",
        default="m32:efc100,pca256:pano8:m32:efc64:kf8",
        help="HNSW specs, comma-separated ('' for none); see the docstring",
    )
    ap.add_argument("--ef", default="48,64,96,128", help="efSearch values, raw HNSW")
    ap.add_argument("--pca-ef", default="32,64", help="efSearch values, HNSW on PCA")
    ap.add_argument("--blocks", type=int, default=8, help="alternating query blocks")
    ap.add_argument(
        "--scann-python", default=None,
        help="Python of a venv with scann (no TensorFlow); without it ScaNN is not run",
    )
    ap.add_argument("--scann-leaves", type=int, default=2000)
    ap.add_argument(
        "--scann-settings", default="100:100,250:250,500:500,1000:1000",
        help="ScaNN leaves_to_search:reorder settings (one build)",
    )
    ap.add_argument(
        "--no-real-check", dest="real_check", action="store_false",
        help="skip the real-vs-synthetic recall check on the shared corpora",
    )
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
    ap.add_argument(
        "--corpora", default=DEFAULT_REAL,
        help="posts roots for the real USE embeddings (relative: to the repo)",
    )
    ap.add_argument("--cache-dir", default=None, help="embedding cache (default: blogrec's)")
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
        if args.quick:
            args.n, args.queries = 20_000, 2_000
        result = run_shape(args)
        name = args.name or ("ann_search" if args.n == STUDY_N else f"ann_search_n{args.n}")
        # Saved before the real-vector check: a failure there must not lose the timing.
        write_results(name, {"benchmark": "ann_search", "machine": machine, **result})
        if args.real_check:
            try:
                result["real_vs_synthetic"] = run_real_vs_synthetic(args, args.dim)
            except Exception as exc:  # noqa: BLE001 - reported in the JSON, timing kept
                result["real_vs_synthetic"] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"real-vs-synthetic check failed: {exc}", flush=True)
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
