"""ScaNN worker for ann_search.py: builds and searches ScaNN in its own interpreter.

`scann` cannot be imported beside TensorFlow (an absl symbol clash), so ann_search.py
starts this script with another Python (``--scann-python``, a venv with ``scann`` and
``numpy`` only; see benchmarks/README.md) and drives it over JSON lines, one request and
one reply per line, so that ScaNN's searches alternate with faiss's in the same minutes:

    {"cmd": "build", "leaves": 2000, "leaves_to_search": 100, "reorder": 100, ...}
    {"cmd": "search", "start": 0, "stop": 2634, "leaves_to_search": 50, "reorder": 100,
     "key": "l50-r100"}
    {"cmd": "save", "key": "l50-r100", "path": ".../scann-l50-r100.npy"}
    {"cmd": "quit"}

The vectors come from ``--data DIR`` (x.npy: database, q.npy: queries). Search times are
measured here around ``search_batched_parallel`` alone (no pipe or JSON in them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="directory holding x.npy and q.npy")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()

    # Replies go to the original stdout; anything the libraries print goes to stderr.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    replies = os.fdopen(reply_fd, "w", buffering=1)

    import numpy as np
    import scann

    data = Path(args.data)
    x = np.load(data / "x.npy", mmap_mode="r")
    q = np.ascontiguousarray(np.load(data / "q.npy"))
    x = np.ascontiguousarray(x)
    searcher = None
    found: dict[str, dict[int, np.ndarray]] = {}

    def reply(obj: dict) -> None:
        replies.write(json.dumps(obj) + "\n")

    from importlib.metadata import version

    reply({"ready": True, "scann": version("scann"), "n": len(x),
           "queries": len(q)})
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        try:
            if cmd == "build":
                c0, t0 = time.process_time(), time.perf_counter()
                b = scann.scann_ops_pybind.builder(x, args.k, "dot_product")
                b = b.tree(num_leaves=req["leaves"], num_leaves_to_search=req["leaves_to_search"],
                           training_sample_size=min(len(x), req.get("train", 250_000)))
                b = b.score_ah(req.get("dims_per_block", 2),
                               anisotropic_quantization_threshold=req.get("threshold", 0.2))
                searcher = b.reorder(req["reorder"]).build()
                reply({"build_s": time.perf_counter() - t0,
                       "build_cpu_s": time.process_time() - c0})
            elif cmd == "search":
                qs = q[req["start"] : req["stop"]]
                t0 = time.perf_counter()
                idx, _ = searcher.search_batched_parallel(
                    qs, final_num_neighbors=args.k,
                    pre_reorder_num_neighbors=req["reorder"],
                    leaves_to_search=req["leaves_to_search"])
                seconds = time.perf_counter() - t0
                found.setdefault(req["key"], {})[req["start"]] = np.asarray(idx, dtype=np.int64)
                reply({"search_s": seconds})
            elif cmd == "save":
                parts = found.pop(req["key"])
                np.save(req["path"], np.concatenate([parts[s] for s in sorted(parts)]))
                reply({"saved": req["path"]})
            elif cmd == "quit":
                reply({"bye": True})
                break
            else:
                reply({"error": f"unknown command {cmd!r}"})
        except Exception as exc:  # noqa: BLE001 - reported to the driver, which decides
            reply({"error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
