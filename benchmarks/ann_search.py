"""Exact (faiss flat IP) vs approximate (IVF-PQ fast-scan + exact re-rank) top-k search.

Default: the study's search shape, 692,821 database vectors of dimension 512, 21,072
queries, top 10, on synthetic clustered unit vectors calibrated on real USE embeddings
(see blogrec.ann.clustered_unit_vectors). Both methods run in the same process on the same
data, so the speed-up is a ratio measured under the same machine load.

    python benchmarks/ann_search.py                  # study shape (exact takes minutes)
    python benchmarks/ann_search.py --n 100000       # blog-platform scale
    python benchmarks/ann_search.py --n 10000
    python benchmarks/ann_search.py --sweep          # self-search k=4: justify AUTO_APPROX_MIN
    python benchmarks/ann_search.py --quick          # small smoke run

Times: "build" is adding to the flat index / training + adding the IVF index; "search" is
the queries alone. Memory: peak RSS above the level before the step (sampled), and the
process's overall peak (ru_maxrss). Results go to reports/benchmarks/<name>.json.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
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


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def drop_self(idx: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """First k entries of each row that are not the query row itself."""
    out = np.full((len(rows), k), -1, dtype=np.int64)
    for r, (cand, me) in enumerate(zip(idx, rows, strict=True)):
        keep = cand[(cand != me) & (cand >= 0)][:k]
        out[r, : len(keep)] = keep
    return out


def run_shape(n: int, nq: int, dim: int, k: int, nprobes: list[int]) -> dict[str, Any]:
    import faiss

    print(f"\nshape: n={n:,} dim={dim} queries={nq:,} k={k}", flush=True)
    allx, t_gen = timed(ann.clustered_unit_vectors, n + nq, dim, 0)
    x, q = allx[:n], allx[n:]
    print(f"generated data in {t_gen:.1f} s", flush=True)

    with PeakRSS() as m_exact:
        flat = faiss.IndexFlatIP(dim)
        _, t_exact_build = timed(flat.add, x)
        (_, gt), t_exact = timed(flat.search, q, k)
    del flat
    print(f"exact: build {t_exact_build:.2f} s, search {t_exact:.1f} s", flush=True)

    params = ann.approx_params(n, dim)
    with PeakRSS() as m_build:
        index, t_build = timed(ann.build_approx_index, x, params)
    base = faiss.downcast_index(index.base_index)
    index.k_factor = float(max(1, math.ceil(params.shortlist / k)))
    rows = []
    for nprobe in sorted(set([params.nprobe, *[p for p in nprobes if p <= params.nlist]])):
        base.nprobe = nprobe
        with PeakRSS() as m_search:
            (_, found), t_search = timed(index.search, q, k)
        row = {
            "nprobe": nprobe,
            "default_rule": nprobe == params.nprobe,
            "search_s": round(t_search, 3),
            "speedup_search": round(t_exact / t_search, 1),
            "speedup_build_plus_search": round((t_exact_build + t_exact) / (t_build + t_search), 1),
            "recall_at_10": round(recall_at(found, gt, min(10, k)), 4),
            "recall_at_4": round(recall_at(found, gt, min(4, k)), 4),
            "search_peak_rss_delta_mib": m_search.delta_mib,
        }
        rows.append(row)
        print(
            f"approx nprobe={nprobe}: search {t_search:.2f} s ({row['speedup_search']}x), "
            f"R@10 {row['recall_at_10']}, R@4 {row['recall_at_4']}",
            flush=True,
        )
    del index, base
    default = next(r for r in rows if r["default_rule"])
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
            "peak_rss_delta_mib": m_exact.delta_mib,
        },
        "approx": {
            "params": params.as_dict(),
            "build_s": round(t_build, 3),
            "build_peak_rss_delta_mib": m_build.delta_mib,
            **{kk: v for kk, v in default.items() if kk not in ("nprobe", "default_rule")},
        },
        "approx_nprobe_frontier": rows,
        "process_peak_rss_mib": round(peak_rss_bytes() / 2**20, 1),
    }
    print_shape_table(result)
    return result


def print_shape_table(r: dict[str, Any]) -> None:
    e, a = r["exact"], r["approx"]
    p = a["params"]
    print(
        f"\n| n={r['n']:,} q={r['queries']:,} d={r['dim']} k={r['k']} "
        f"| build s | search s | speed-up (search) | recall@10 | recall@4 | peak RSS +MiB |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| exact (IndexFlatIP) | {e['build_s']} | {e['search_s']} | 1 | 1 | 1 "
        f"| {e['peak_rss_delta_mib']} |"
    )
    print(
        f"| approx (IVF{p['nlist']},PQ{p['pq_m']}x4fs,nprobe {p['nprobe']},refine "
        f"{p['shortlist']}) | {a['build_s']} | {a['search_s']} | {a['speedup_search']}x "
        f"| {a['recall_at_10']} | {a['recall_at_4']} | "
        f"{a['build_peak_rss_delta_mib']} build, {a['search_peak_rss_delta_mib']} search |"
    )
    print(
        f"build + search speed-up: {a['speedup_build_plus_search']}x; "
        f"process peak RSS {r['process_peak_rss_mib']} MiB; data {r['data_mib']} MiB"
    )


def run_sweep(sizes: list[int], dim: int, sample: int, nprobes: list[int]) -> dict[str, Any]:
    """Self-search with k=4 (the related-posts case): every post is a query.

    Exact self-search is n^2; running it for all n queries at n=200k would take an hour
    here, so both methods search the same fixed sample of rows and the search time is
    scaled to n queries (search time is linear in the number of queries). Build times are
    measured in full.
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
            row = {
                "n": n,
                "nlist": params.nlist,
                "nprobe": nprobe,
                "default_rule": nprobe == params.nprobe,
                "exact_total_s": round(exact_total, 2),
                "approx_build_s": round(t_ab, 2),
                "approx_total_s": round(approx_total, 2),
                "speedup_total": round(exact_total / approx_total, 2),
                "recall_at_4": round(recall_at(found, gt, k), 4),
            }
            out.append(row)
            print(
                f"n={n:>7,} nlist={params.nlist:>5} nprobe={nprobe:>4}"
                f"{'*' if row['default_rule'] else ' '} exact {exact_total:8.1f} s  "
                f"approx {approx_total:8.1f} s (build {t_ab:.1f})  "
                f"speed-up {row['speedup_total']:5.2f}x  R@4 {row['recall_at_4']:.4f}",
                flush=True,
            )
        del index, base, x
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=STUDY_N, help="database vectors")
    ap.add_argument("--queries", type=int, default=STUDY_Q)
    ap.add_argument("--dim", type=int, default=STUDY_DIM)
    ap.add_argument("--k", type=int, default=STUDY_K)
    ap.add_argument("--nprobes", default="", help="extra nprobe values to try, e.g. 64,256")
    ap.add_argument("--sweep", action="store_true", help="self-search k=4 threshold sweep")
    ap.add_argument("--sizes", default="10000,20000,50000,100000,200000")
    ap.add_argument("--sample", type=int, default=2000, help="query rows sampled in --sweep")
    ap.add_argument(
        "--real",
        action="store_true",
        help="recall on real USE embeddings of the shared corpora (and seeded)",
    )
    ap.add_argument("--corpora", default="/work/shared/corpora/ja-efcl,/work/shared/corpora/en-18f")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--name", default=None, help="JSON name (default: derived from the run)")
    args = ap.parse_args(argv)
    nprobes = [int(v) for v in args.nprobes.split(",") if v]
    machine = print_header("ANN search: exact vs approximate (faiss)")
    print(f"AUTO_APPROX_MIN = {ann.AUTO_APPROX_MIN:,}")
    if args.real:
        sizes = [int(v) for v in args.sizes.split(",")]
        result = run_real(args.corpora.split(","), sizes, args.sample)
        name = args.name or "ann_real_recall"
    elif args.sweep:
        sizes = [2000, 5000, 10000] if args.quick else [int(v) for v in args.sizes.split(",")]
        result = run_sweep(sizes, args.dim, args.sample, nprobes)
        name = args.name or "ann_threshold_sweep"
    else:
        n, nq = (20_000, 2_000) if args.quick else (args.n, args.queries)
        result = run_shape(n, nq, args.dim, args.k, nprobes)
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
