"""End-to-end build times and per-step peak memory: cold, warm, and after editing one post.

For each corpus (default: the shared corpora ja-efcl and en-18f, else the sample blog):

1. the corpus is copied to a temporary directory (the embedding cache is keyed by the
   posts directory, so every build of one corpus reads the same copy);
2. three tracks, each with its own empty cache and output directories, run a cold build
   (empty cache), a warm build (nothing changed), and, after one post's title was edited
   in the copy, a rebuild:
   - ``cli``: ``python -m blogrec.cli -q build`` in a fresh process; wall time of the
     process, and the per-step seconds of reports/timings.json. The warm build is the
     up-to-date check (nothing changed: the build is skipped);
   - ``steps``: the build's plan (``build.plan.build_plan``) in a fresh process,
     timed here with a 20 ms RSS sampler per step (peak RSS of each step, absolute and
     above the level before it); it never skips, so its warm row is a full recompute
     from the embedding and token caches. timings.json lacks the last step ("report",
     rendering the pages); this has it. (The CLI runs tokenisation and the t-SNE beside
     other steps; here they are counted in "related" and "figures".)
   - ``flow``: ``python flows/build_flow.py`` (Prefect, temporary server, fresh
     PREFECT_HOME for this run); ``flow - cli`` is Prefect's overhead.
   The tracks are interleaved (cold cli, cold steps, cold flow, warm cli, ...) so that
   the ratios compare builds made under the same machine load.
3. Prefect's fixed cost: an empty flow in a fresh process (temporary server start-up,
   twice: the first run also creates the database), and ``import prefect``.
4. On ja-efcl (the first corpus): the USE-only recipe (``--method use-recipe --no-eval``)
   cold, against the default cold build of the same run (issue 3: default <= 2x recipe).

    python benchmarks/end_to_end.py                       # shared corpora
    python benchmarks/end_to_end.py --corpus sample_blog/posts
    python benchmarks/end_to_end.py --no-flow             # skip Prefect

5. Pair by pair (``--peer-pairs``, 3): a cold CLI build (empty cache and output) and
   the TF-IDF plugin peer (``tfidf_plugin.py``: what the Hexo/Gatsby/Astro plugins do),
   each in a fresh process; wall and CPU seconds (the process and its children).

Targets: cold CLI build of ja-efcl <= 10 s (issue 6); rebuild after one edit <= 20% of
the cold time, same run; cold build <= 0.7x the peer's wall and <= 1.0x its CPU
(issue 19). JSON: reports/benchmarks/end_to_end.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import (  # noqa: E402
    REPO,
    SHARED_CORPORA,
    PeakRSS,
    child_cpu_seconds,
    describe,
    print_header,
    timed_run,
    write_results,
)

SHARED = [SHARED_CORPORA / name for name in ("ja-efcl", "en-18f")]
SAMPLE = REPO / "sample_blog" / "posts"
STEPS = ("parse", "embed", "related", "tags", "clusters", "evaluate", "export", "figures",
         "report")
COLD_TARGET_S = 10.0
EDIT_TARGET = 0.20  # issue 19: an edit rebuild <= 0.20x the cold build
# issue 19: a cold build against the TF-IDF plugin peer (benchmarks/tfidf_plugin.py)
PEER_CPU_TARGET = 1.0
PEER_WALL_TARGET = 0.7
PY = sys.executable


# ---------------------------------------------------------------- child: steps in-process


def run_steps(posts: str, out: str, reports: str, cache: str, evaluate: bool) -> dict:
    """The build's plan (`build.plan.build_plan`, as `blogrec build` runs it), with each
    step's wall time and peak RSS."""
    import logging
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import contextmanager

    from blogrec.build import BuildConfig, Steps
    from blogrec.build.plan import build_plan, one_blas_thread
    from blogrec.build.runtime import output_lock

    logging.basicConfig(level=logging.WARNING)

    class MeasuredSteps(Steps):
        def __init__(self) -> None:
            super().__init__()
            self.rss: dict[str, dict[str, float]] = {}

        @contextmanager
        def step(self, name: str):  # type: ignore[override]
            with PeakRSS() as mem, super().step(name):
                yield
            self.rss[name] = {"peak_mib": round(mem.peak / 2**20, 1),
                              "delta_mib": mem.delta_mib}

    config = BuildConfig(posts_dir=posts, out_dir=out, reports_dir=reports, cache_dir=cache,
                         evaluate=evaluate)
    steps = MeasuredSteps()
    t0 = time.perf_counter()
    with output_lock(config), one_blas_thread(), ThreadPoolExecutor(1) as beside:
        result = build_plan(config, steps, beside)
    from _machine import peak_rss_bytes

    return {"total_s": time.perf_counter() - t0, "seconds": steps.seconds, "rss": steps.rss,
            "encoded": result.features.encoded, "posts": len(result.corpus.posts),
            "process_peak_mib": round(peak_rss_bytes() / 2**20, 1)}


# ---------------------------------------------------------------- parent


def edit_one_title(posts: Path) -> str:
    """Append ' (edited)' to the title of the first post (sorted by path) that has one."""
    for path in sorted(posts.rglob("*.md")):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        m = re.search(r"^title:\s*(.+)$", text, flags=re.M)
        if not text.startswith("---") or not m:
            continue
        value = m.group(1).rstrip()
        if value[:1] in "\"'" and value[-1:] == value[:1]:
            new = value[:-1] + " (edited)" + value[-1]
        else:
            new = value + " (edited)"
        path.write_text(text[: m.start(1)] + new + text[m.start(1) + len(m.group(1)):],
                        encoding="utf-8", errors="surrogateescape")
        return str(path.relative_to(posts))
    raise RuntimeError(f"no post with a title line under {posts}")


class Track:
    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.out, self.reports, self.cache = (root / name / d for d in ("out", "reports",
                                                                        "cache"))
        for d in (self.out, self.reports, self.cache):
            d.mkdir(parents=True)


def cli_build(posts: Path, track: Track, extra: list[str] | None = None) -> dict[str, Any]:
    cmd = [PY, "-m", "blogrec.cli", "-q", "build", str(posts), "--out", str(track.out),
           "--reports", str(track.reports), "--cache-dir", str(track.cache), *(extra or [])]
    cpu = child_cpu_seconds()
    wall, out, _ = timed_run(cmd)
    cpu = round(child_cpu_seconds() - cpu, 2)  # the process and its encoding child
    if "nothing changed since the last build" in out:  # skipped: timings.json is the last
        return {"wall_s": round(wall, 2), "cpu_s": cpu, "skipped": True, "steps_s": {}}
    steps = json.loads((track.reports / "timings.json").read_text())["steps"]
    return {"wall_s": round(wall, 2), "cpu_s": cpu, "skipped": False,
            "steps_s": {k: round(v, 2) for k, v in steps.items()}}


def peer_build(posts: Path, out: Path) -> dict[str, Any]:
    """The TF-IDF plugin peer (`tfidf_plugin.py`) in a fresh process."""
    cpu = child_cpu_seconds()
    wall, _, _ = timed_run([PY, str(Path(__file__).with_name("tfidf_plugin.py")), str(posts),
                            str(out)])
    return {"wall_s": round(wall, 2), "cpu_s": round(child_cpu_seconds() - cpu, 2)}


def peer_pairs(posts: Path, root: Path, pairs: int) -> dict[str, Any]:
    """`pairs` x (blogrec cold build on empty cache and output, then the peer), so that
    each ratio compares two runs made minutes apart under the same load."""
    rows = []
    for i in range(pairs):
        ours = cli_build(posts, Track(f"peer-pair-{i}", root))
        peer = peer_build(posts, root / f"peer-pair-{i}" / "peer.json")
        rows.append({"blogrec": ours, "peer": peer,
                     "wall_ratio": round(ours["wall_s"] / peer["wall_s"], 3),
                     "cpu_ratio": round(ours["cpu_s"] / peer["cpu_s"], 3)})
        print(f"  pair {i + 1}: blogrec {ours['wall_s']} s wall / {ours['cpu_s']} s CPU, "
              f"peer {peer['wall_s']} / {peer['cpu_s']}: x{rows[-1]['wall_ratio']} wall, "
              f"x{rows[-1]['cpu_ratio']} CPU", flush=True)
    return {"pairs": rows,
            "median_wall_ratio": float(np.median([r["wall_ratio"] for r in rows])),
            "median_cpu_ratio": float(np.median([r["cpu_ratio"] for r in rows]))}


def steps_build(posts: Path, track: Track) -> dict[str, Any]:
    cmd = [PY, __file__, "--_child", str(posts), str(track.out), str(track.reports),
           str(track.cache)]
    wall, out, _ = timed_run(cmd)
    r = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "in_process_s": round(r["total_s"], 2),
            "steps_s": {k: round(v, 2) for k, v in r["seconds"].items()},
            "steps_peak_mib": {k: v["peak_mib"] for k, v in r["rss"].items()},
            "steps_delta_mib": {k: v["delta_mib"] for k, v in r["rss"].items()},
            "process_peak_mib": r["process_peak_mib"], "encoded": r["encoded"],
            "posts": r["posts"]}


def flow_env(prefect_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING")
    # as blogrec.flow does: the default 20 s start-up timeout fails on a busy machine
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    env.pop("PREFECT_API_URL", None)
    return env


def flow_build(posts: Path, track: Track, env: dict[str, str]) -> dict[str, Any]:
    cmd = [PY, str(REPO / "flows" / "build_flow.py"), str(posts), "--out", str(track.out),
           "--reports", str(track.reports), "--cache-dir", str(track.cache)]
    wall, _, _ = timed_run(cmd, env)
    return {"wall_s": round(wall, 2)}


EMPTY_FLOW = (
    "import time; t0 = time.perf_counter()\n"
    "from prefect import flow\n"
    "t1 = time.perf_counter()\n"
    "@flow\n"
    "def empty():\n"
    "    return 1\n"
    "empty()\n"
    "print(round(t1 - t0, 2), round(time.perf_counter() - t1, 2))\n"
)


def prefect_overhead(env: dict[str, str]) -> dict[str, Any]:
    """Wall time of an empty flow in a fresh process: import prefect, then start the
    temporary server and run the flow."""
    out: dict[str, Any] = {}
    for label in ("first", "second"):
        wall, stdout, _ = timed_run([PY, "-c", EMPTY_FLOW], env)
        imp, run = (float(x) for x in stdout.split())
        out[label] = {"process_wall_s": round(wall, 2), "import_prefect_s": imp,
                      "server_start_and_flow_s": run}
    wall, _, _ = timed_run([PY, "-c", "import blogrec.build, blogrec.cli"])
    out["python_import_blogrec_s"] = round(wall, 2)
    return out


def bench_corpus(src: Path, tmp: Path, with_flow: bool, env: dict[str, str] | None,
                 recipe: bool, pairs: int) -> dict[str, Any]:
    name = src.name if src != SAMPLE else "sample_blog"
    root = tmp / name
    posts = root / "posts"
    shutil.copytree(src, posts)
    tracks = {t: Track(t, root) for t in ("cli", "steps", "flow")}
    runs: dict[str, dict[str, Any]] = {"cli": {}, "steps": {}, "flow": {}}
    load: dict[str, Any] = {}

    def one(phase: str) -> None:
        load[phase] = [round(x, 2) for x in os.getloadavg()]
        print(f"  {name}: {phase} ...", end="", flush=True)
        runs["cli"][phase] = cli_build(posts, tracks["cli"])
        print(f" cli {runs['cli'][phase]['wall_s']} s", end="", flush=True)
        runs["steps"][phase] = steps_build(posts, tracks["steps"])
        print(f", steps {runs['steps'][phase]['wall_s']} s", end="", flush=True)
        if with_flow:
            runs["flow"][phase] = flow_build(posts, tracks["flow"], env or {})
            print(f", flow {runs['flow'][phase]['wall_s']} s", end="", flush=True)
        print(flush=True)

    one("cold")
    one("warm")
    edited = edit_one_title(posts)
    one("edit")
    result: dict[str, Any] = {"corpus": str(src), "edited_post": edited, "runs": runs,
                              "load_average_before_phase": load}
    if pairs:
        print(f"  {name}: cold builds against the TF-IDF plugin peer, pair by pair",
              flush=True)
        result["peer"] = peer_pairs(posts, root, pairs)
    if recipe:
        # Same run: a default cold build and a recipe cold build back to back, each on an
        # empty cache (the default's cold time above is the other reading).
        t_default = Track("default-cold-2", root)
        t_recipe = Track("recipe-cold", root)
        r = cli_build(posts, t_recipe, ["--method", "use-recipe", "--no-eval"])
        d = cli_build(posts, t_default)
        result["recipe_vs_default"] = {
            "recipe_cold": r, "default_cold": d,
            "ratio_default_over_recipe": round(d["wall_s"] / r["wall_s"], 2),
            "ratio_with_first_default_cold": round(runs["cli"]["cold"]["wall_s"]
                                                   / r["wall_s"], 2),
        }
        print(f"  {name}: recipe cold {r['wall_s']} s, default cold {d['wall_s']} s "
              f"(x{result['recipe_vs_default']['ratio_default_over_recipe']})", flush=True)
    return result


def print_tables(results: list[dict[str, Any]], with_flow: bool) -> None:
    for res in results:
        name = Path(res["corpus"]).name
        posts = res["runs"]["steps"]["cold"]["posts"]
        print(f"\n{name}: {posts} posts (edited: {res['edited_post']})")
        head = f"{'build':<6} {'cli s':>6} {'steps s':>7}" + (
            f" {'flow s':>6} {'flow-cli':>8}" if with_flow else "") + f" {'peak MiB':>8}  "
        head += " ".join(f"{s[:8]:>8}" for s in STEPS) + "   encoded"
        print(head)
        for phase in ("cold", "warm", "edit"):
            cli, st = res["runs"]["cli"][phase], res["runs"]["steps"][phase]
            row = f"{phase:<6} {cli['wall_s']:>6.2f} {st['wall_s']:>7.2f}"
            if with_flow:
                fl = res["runs"]["flow"][phase]["wall_s"]
                row += f" {fl:>6.2f} {fl - cli['wall_s']:>8.2f}"
            row += f" {st['process_peak_mib']:>8.0f}  "
            row += " ".join(f"{st['steps_s'].get(s, float('nan')):>8.2f}" for s in STEPS)
            print(row + f"   {st['encoded']}")
        print(f"{'':<6} {'':>6} {'':>7}" + (f" {'':>6} {'':>8}" if with_flow else "")
              + f" {'':>8}  " + " ".join(f"{s[:8]:>8}" for s in STEPS) + "   (peak RSS MiB)")
        for phase in ("cold", "warm", "edit"):
            st = res["runs"]["steps"][phase]
            print(f"{phase:<6} {'':>6} {'':>7}" + (f" {'':>6} {'':>8}" if with_flow else "")
                  + f" {'':>8}  "
                  + " ".join(f"{st['steps_peak_mib'].get(s, float('nan')):>8.0f}"
                             for s in STEPS))
        cold = res["runs"]["cli"]["cold"]["wall_s"]
        edit = res["runs"]["cli"]["edit"]["wall_s"]
        warm = res["runs"]["cli"]["warm"]["wall_s"]
        print(f"CLI cold {cold:.2f} s vs target {COLD_TARGET_S:.0f} s: "
              f"{'met' if cold <= COLD_TARGET_S else f'NOT met (x{cold / COLD_TARGET_S:.2f})'};"
              f" edit/cold {edit / cold:.0%} (warm/cold {warm / cold:.0%}) vs target "
              f"{EDIT_TARGET:.0%}: {'met' if edit / cold <= EDIT_TARGET else 'NOT met'}")
        if "peer" in res:
            p = res["peer"]
            wall, cpu = p["median_wall_ratio"], p["median_cpu_ratio"]
            print(f"cold build / TF-IDF plugin peer, median of {len(p['pairs'])} pairs: wall "
                  f"x{wall:.2f} (target <= x{PEER_WALL_TARGET}: "
                  f"{'met' if wall <= PEER_WALL_TARGET else 'NOT met'}), CPU x{cpu:.2f} "
                  f"(target <= x{PEER_CPU_TARGET}: "
                  f"{'met' if cpu <= PEER_CPU_TARGET else 'NOT met'})")
        if "recipe_vs_default" in res:
            rv = res["recipe_vs_default"]
            print(f"recipe (--method use-recipe --no-eval) cold {rv['recipe_cold']['wall_s']} s,"
                  f" default cold {rv['default_cold']['wall_s']} s: default/recipe "
                  f"x{rv['ratio_default_over_recipe']} (x{rv['ratio_with_first_default_cold']}"
                  f" with the first cold reading); issue 3 target <= x2")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", type=Path,
                        help="posts directory (repeatable); default: the shared corpora, "
                             "else sample_blog/posts")
    parser.add_argument("--no-flow", action="store_true", help="skip the Prefect flow")
    parser.add_argument("--no-recipe", action="store_true",
                        help="skip the use-recipe vs default comparison")
    parser.add_argument("--peer-pairs", type=int, default=3,
                        help="cold builds timed against the TF-IDF plugin peer, pair by pair")
    parser.add_argument("--name", default="end_to_end", help="JSON name in reports/benchmarks")
    parser.add_argument("--_child", nargs=4, metavar=("POSTS", "OUT", "REPORTS", "CACHE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        print(json.dumps(run_steps(*args._child, evaluate=True)))
        return

    corpora = args.corpus or [c for c in SHARED if c.is_dir()] or [SAMPLE]
    info = print_header("blogrec end to end: cold / warm / one edit; CLI, steps, Prefect flow")
    with_flow = not args.no_flow
    results = []
    with tempfile.TemporaryDirectory(prefix="blogrec-e2e-") as tmp:
        env = flow_env(Path(tmp) / "prefect-home") if with_flow else None
        prefect = None
        if with_flow:
            print("prefect: empty flow in a fresh process (x2) ...", flush=True)
            prefect = prefect_overhead(env or {})
            print(f"  {prefect}", flush=True)
        for i, src in enumerate(corpora):
            results.append(bench_corpus(src.resolve(), Path(tmp), with_flow, env,
                                        recipe=(i == 0 and not args.no_recipe),
                                        pairs=args.peer_pairs))
    print_tables(results, with_flow)
    if prefect:
        f, s = prefect["first"], prefect["second"]
        print(f"\nPrefect fixed cost (empty flow, fresh process): {s['process_wall_s']} s "
              f"(import prefect {s['import_prefect_s']} s, temporary server + flow "
              f"{s['server_start_and_flow_s']} s); first run with a fresh PREFECT_HOME "
              f"{f['process_wall_s']} s; python + import blogrec "
              f"{prefect['python_import_blogrec_s']} s")
    end = describe()
    print(f"load average at the end: {end['load_average_1_5_15']}")
    path = write_results(args.name, {"machine": info, "machine_at_end": end,
                                     "targets": {"cold_s": COLD_TARGET_S,
                                                 "edit_over_cold": EDIT_TARGET},
                                     "prefect_fixed_cost": prefect, "corpora": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
