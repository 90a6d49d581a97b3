"""Synthetic blogs of 10k and 100k posts with cached embeddings: related + tags + clusters.

How the blogs are made (deterministic, seed 0):
- text: the posts of the shared corpora (else the sample blog) are the source pool. The
  blog has T = 3 sqrt(n) topics; each topic draws 2 source posts, and each synthetic post
  of the topic takes a source title (plus " #<i>"), a source lede, 2-5 source headings and
  6-14 lines of the sources' cleaned bodies, recombined at random. Files of ~2 KB,
  date-prefixed names, 1,000 per sub-directory.
- tags: a vocabulary of max(50, n/20) tags with Zipf(1.1) popularity; each topic has 3
  core tags drawn from it; a post carries each core tag of its topic with p=0.6 and one
  global Zipf tag with p=0.3 (10% of posts: none), so tags follow the topics.
- embeddings: no encoding. Each topic has a unit centre (a shared mean direction of norm
  0.75 plus a random direction, as USE's embeddings share one); a post's vector is its
  centre plus isotropic noise, L2-normalised. They are put in the EmbeddingCache under the
  default encoder's model id and the blog's namespace (its resolved directory), keyed by
  each parsed post's document text, exactly what `build.steps.make_features` will look up;
  the run checks that nothing was encoded.

Then, in a fresh process per size (so peak RSS is the size's own), as the build runs them
(one BLAS thread): parse, load the cache ("embed"), "lexical" (the build's: tokens through
the token cache, cold on a generated blog, TF-IDF, LSI and, below 50k posts, the word-pair
TF-IDF: reported apart, the target is about a blog whose caches are warm), then as the
build: the clusters start on a second thread, related and the tags run on this one, and the
second thread, once free, takes some of their blocks (`build.plan.start_beside`, then
related and tags; each one's own seconds are reported too; with all three steps, the
"related" step's time overlaps the clusters'), with BuildConfig(evaluate=False); optionally
export + report (`--report`: the report's t-SNE map). Each step: wall time, peak RSS
(sampled every 20 ms), and a sampled profile: the main thread's stack every 0.25 s, counted
by the innermost blogrec function and by the innermost function of any module. Guards, so
the machine survives a step that does not scale: the address space is capped
(`--mem-limit-gib`, default 16; it caps virtual memory, not resident: at 8 the 100k related
step died with std::bad_alloc, where a run without the cap peaked at 3.95 GiB resident) and
a step is stopped past `--step-timeout` seconds; the step is then reported as failed with
where it was (traceback, or the stack at the time-out) and the next step runs.

    python benchmarks/scale.py                     # 10k and 100k
    python benchmarks/scale.py --sizes 10000 --report
    python benchmarks/scale.py --sizes 10000 --steps related,clusters

Target (issue 6): 100k posts, related + tags + clusters < 2 minutes and < 4 GB peak.
JSON: reports/benchmarks/scale.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import (  # noqa: E402
    REPO,
    SHARED_CORPORA,
    describe,
    print_header,
    rss_bytes,
    write_results,
)

SHARED = [SHARED_CORPORA / name for name in ("ja-efcl", "en-18f")]
SAMPLE = REPO / "sample_blog" / "posts"
TARGET_S = 120.0
TARGET_GIB = 4.0
BUDGET_STEPS = ("related", "tags", "clusters")


# ---------------------------------------------------------------- generation


def source_pool(corpora: list[Path]) -> list[dict[str, Any]]:
    import logging

    from blogrec.corpus import load_corpus
    from blogrec.text.clean import clean_markdown

    logging.getLogger("blogrec").setLevel(logging.ERROR)
    pool = []
    for c in corpora:
        for p in load_corpus(c).posts:
            lines = [ln for ln in clean_markdown(p.body).split("\n") if len(ln) > 20]
            if lines:
                pool.append({"title": p.title, "lede": p.lede, "headings": p.headings,
                             "lines": lines})
    return pool


def generate(n: int, posts_dir: Path, pool: list[dict[str, Any]], seed: int = 0
             ) -> dict[str, Any]:
    """Write n posts under posts_dir; return the topic of each post (by file order)."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    topics = max(10, round(3 * math.sqrt(n)))
    vocab = max(50, n // 20)
    ranks = np.arange(1, vocab + 1, dtype=np.float64)
    zipf = ranks ** -1.1
    zipf /= zipf.sum()
    tag_names = [f"tag{i:05d}" for i in range(vocab)]
    core = nprng.choice(vocab, size=(topics, 3), p=zipf)
    sources = [rng.sample(range(len(pool)), 2) for _ in range(topics)]
    topic_of = nprng.integers(0, topics, size=n)
    extra = nprng.choice(vocab, size=n, p=zipf)
    t0 = time.perf_counter()
    nbytes = 0
    for i in range(n):
        t = int(topic_of[i])
        srcs = [pool[s] for s in sources[t]]
        main = rng.choice(srcs)
        tags: list[str] = []
        if rng.random() >= 0.1:
            tags = [tag_names[j] for j in core[t] if rng.random() < 0.6]
            if rng.random() < 0.3:
                tags.append(tag_names[int(extra[i])])
            tags = list(dict.fromkeys(tags)) or [tag_names[int(core[t][0])]]
        heads = [h for s in srcs for h in s["headings"]]
        heads = rng.sample(heads, min(len(heads), rng.randint(2, 5)))
        lines = [ln for s in srcs for ln in s["lines"]]
        body_lines = [rng.choice(lines) for _ in range(rng.randint(6, 14))]
        body = []
        for j, ln in enumerate(body_lines):
            if j % 3 == 0 and heads:
                body.append(f"## {heads[(j // 3) % len(heads)]}")
            body.append(ln)
        day = 13000 + (i * 7919) % 7000  # days since 1970: 2005..2024
        date = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        lede = rng.choice(srcs)["lede"]
        text = ("---\n" + f"title: {json.dumps(main['title'] + f' #{i}', ensure_ascii=False)}\n"
                + f"date: {date}\n" + f"tags: {json.dumps(tags, ensure_ascii=False)}\n"
                + (f"description: {json.dumps(lede, ensure_ascii=False)}\n" if lede else "")
                + "---\n\n" + "\n\n".join(body) + "\n")
        d = posts_dir / f"{i // 1000:03d}"
        if i % 1000 == 0:
            d.mkdir(parents=True, exist_ok=True)
        path = d / f"{date}-p{i:06d}.md"
        path.write_text(text, encoding="utf-8")
        nbytes += len(text.encode())
    return {"topics": topics, "tag_vocabulary": vocab, "topic_of": topic_of,
            "bytes": nbytes, "write_s": round(time.perf_counter() - t0, 1)}


def prefill_cache(posts_dir: Path, cache_dir: Path, topic_of_file: dict[str, int],
                  topics: int, seed: int = 0) -> dict[str, Any]:
    """Parse the blog as the build will, and put one clustered unit vector per document
    text in the cache the build will read."""
    from blogrec.build import BuildConfig
    from blogrec.build.reading import embedding_fields
    from blogrec.corpus import load_corpus
    from blogrec.embeddings import DEFAULT_FIELDS, EmbeddingCache, document_text
    from blogrec.related import RECIPE_FIELDS
    from blogrec.store import text_key

    rng = np.random.default_rng(seed + 1)
    dim = 512
    mu = rng.standard_normal(dim)
    mu *= 0.75 / np.linalg.norm(mu)
    centres = mu + rng.standard_normal((topics, dim)) / math.sqrt(dim) * 0.9
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    t0 = time.perf_counter()
    corpus = load_corpus(posts_dir)
    t_parse = time.perf_counter() - t0
    from blogrec.embeddings import get_encoder

    model_id = get_encoder().model_id  # the id the build will look up (loads no model)
    cache = EmbeddingCache(cache_dir, model_id, namespace=str(posts_dir.resolve()))
    fields = embedding_fields(BuildConfig(posts_dir=str(posts_dir)))
    assert set(fields) <= {tuple(DEFAULT_FIELDS), tuple(RECIPE_FIELDS)}, fields
    for post in corpus.posts:
        t = topic_of_file[Path(post.path).name]
        v = centres[t] + rng.standard_normal(dim) * (0.55 / math.sqrt(dim))
        v = (v / np.linalg.norm(v)).astype(np.float32)
        for f in fields:
            cache.put(text_key(document_text(post, f)), v)
    cache.save()
    return {"posts": len(corpus.posts), "rejected": len(corpus.rejected),
            "parse_s": round(t_parse, 1), "cache_file": str(cache.path),
            "cache_mib": round(cache.path.stat().st_size / 2**20, 1), "model_id": model_id}


# ---------------------------------------------------------------- child: the timed steps


class Monitor:
    """Samples RSS (20 ms) and the main thread's stack (250 ms) for the current step;
    stops the process's current step when it runs past the time limit."""

    def __init__(self, step_timeout: float) -> None:
        self.main = threading.get_ident()
        self.step: str | None = None
        self.start = 0.0
        self.peak: dict[str, int] = {}
        self.blogrec: dict[str, Counter[str]] = {}
        self.anywhere: dict[str, Counter[str]] = {}
        self.timeout = step_timeout
        self.timed_out: dict[str, list[str]] = {}
        threading.Thread(target=self._run, daemon=True).start()

    def begin(self, step: str) -> None:
        self.peak[step] = rss_bytes()
        self.blogrec[step], self.anywhere[step] = Counter(), Counter()
        self.start = time.perf_counter()
        self.step = step

    def end(self) -> None:
        if self.step:
            self.peak[self.step] = max(self.peak[self.step], rss_bytes())
        self.step = None

    def _stack(self) -> list[str]:
        frame = sys._current_frames().get(self.main)
        return [f"{Path(f.f_code.co_filename).name}:{f.f_code.co_name}:{line}"
                for f, line in traceback.walk_stack(frame)] if frame else []

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # noqa: BLE001 - say so rather than die silently
            print(f"[monitor] stopped: {exc!r}", file=sys.stderr, flush=True)

    def _loop(self) -> None:
        tick = 0
        while True:
            time.sleep(0.02)
            step = self.step
            if step is None:
                continue
            self.peak[step] = max(self.peak.get(step, 0), rss_bytes())
            tick += 1
            if tick % 12:
                continue
            frames = self._stack()
            if frames:
                self.anywhere[step][frames[0].rsplit(":", 1)[0]] += 1
                mine = next((f for f in frames if f.split(":")[0] in BLOGREC_FILES), None)
                if mine:
                    self.blogrec[step][mine] += 1
            if time.perf_counter() - self.start > self.timeout and step not in self.timed_out:
                self.timed_out[step] = frames[:25]
                import _thread

                _thread.interrupt_main()  # KeyboardInterrupt in the step (between bytecodes)


BLOGREC_FILES = {p.name for p in (REPO / "blogrec").glob("*.py")}


def run_child(posts: str, cache: str, out: str, report: bool, step_timeout: float,
              mem_limit_gib: float, only: tuple[str, ...] = BUDGET_STEPS) -> dict[str, Any]:
    import logging
    import resource

    logging.basicConfig(level=logging.WARNING)
    limit = int(mem_limit_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from blogrec.build import (
        BuildConfig,
        Steps,
        compute_clusters,
        compute_related,
        compute_tags,
        embed,
        make_features,
        read_blog,
        write_outputs,
    )
    from blogrec.build.plan import lexical as plan_lexical
    from blogrec.build.plan import one_blas_thread, start_beside
    from blogrec.build.threads import sharing

    config = BuildConfig(posts_dir=posts, out_dir=str(Path(out) / "site"),
                                  reports_dir=str(Path(out) / "reports"), cache_dir=cache,
                                  evaluate=False)
    mon = Monitor(step_timeout)
    res: dict[str, Any] = {"steps": {}}
    state: dict[str, Any] = {}

    def step(name: str, fn: Any) -> None:
        mon.begin(name)
        t0, c0 = time.perf_counter(), time.process_time()
        entry: dict[str, Any] = {"ok": True}
        try:
            state[name] = fn()
        except (MemoryError, KeyboardInterrupt, Exception) as exc:  # noqa: BLE001
            entry = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300],
                     "traceback": [f"{Path(f.filename).name}:{f.name}:{f.lineno} {f.line}"
                                   for f in traceback.extract_tb(exc.__traceback__)][-12:]}
            if isinstance(exc, KeyboardInterrupt):
                entry["error"] = f"stopped after {step_timeout:.0f} s"
                entry["stack_at_timeout"] = mon.timed_out.get(name, [])
        entry["seconds"] = round(time.perf_counter() - t0, 2)
        entry["cpu_s"] = round(time.process_time() - c0, 2)  # all threads
        mon.end()
        entry["peak_rss_mib"] = round(mon.peak[name] / 2**20, 1)
        entry["profile_blogrec"] = mon.blogrec[name].most_common(6)
        entry["profile_innermost"] = mon.anywhere[name].most_common(6)
        res["steps"][name] = entry
        print(f"[child] {name}: {entry['seconds']} s, peak {entry['peak_rss_mib']} MiB"
              + ("" if entry["ok"] else f" FAILED {entry['error']}"), file=sys.stderr,
              flush=True)

    # As the build: one BLAS thread for the analysis, clusters beside the tags.
    with one_blas_thread():
        step("parse", lambda: read_blog(config))
        corpus = state["parse"]

        def embedded() -> Any:
            features = make_features(corpus, config)
            embed(features, config)
            return features

        step("embed", embedded)
        features = state["embed"]
        res["encoded"] = features.encoded
        # Tokens (through the token cache: cold here, a new blog), TF-IDF and LSI, apart
        # from related: the target is the analysis of a blog whose caches are warm.
        def lexical() -> None:
            # the build's lexical step: tokens, TF-IDF, LSI, and the default's word-pair
            # TF-IDF on blogs below the approximate-search size
            plan_lexical(features, config)

        step("lexical", lexical)
        res["token_cache"] = "cold (a freshly generated blog)"
        own = Steps()
        with ThreadPoolExecutor(max_workers=1) as beside:
            # As the build: the clusters, the name matching and the map start on the
            # second thread before related; it then takes pieces of related and tags.
            both = {"related", "tags", "clusters"} <= set(only)
            started = start_beside(features, config, beside, own) if both else None
            if "related" in only:
                step("related", lambda: compute_related(features, config, sharing(beside)))
            if started is not None:
                clusters, matches, _ = started
                step("tags+clusters", lambda: (
                    compute_tags(features, config, sharing(beside), matches.result()),
                    clusters.result()))
        if started is not None:
            res["steps"]["tags+clusters"]["own_seconds"] = {k: round(v, 2)
                                                            for k, v in own.seconds.items()}
            if res["steps"]["tags+clusters"]["ok"]:
                state["tags"], state["clusters"] = state.pop("tags+clusters")
        else:
            for name, fn in (("clusters", compute_clusters), ("tags", compute_tags)):
                if name in only:
                    step(name, lambda fn=fn: fn(features, config))
    if report and {"related", "tags", "clusters"} <= set(state):
        step("export+report", lambda: write_outputs(
            config, corpus, features, state["related"], state["tags"], state["clusters"],
            None, None))
    res["posts"] = len(corpus.posts)
    res["tags"] = len({t for p in corpus.posts for t in p.tags})
    return res


# ---------------------------------------------------------------- parent


def run_size(n: int, pool: list[dict[str, Any]], tmp: Path, args: argparse.Namespace
             ) -> dict[str, Any]:
    root = tmp / f"n{n}"
    posts, cache, out = root / "posts", root / "cache", root / "out"
    print(f"\n{n:,} posts: generating ...", flush=True)
    gen = generate(n, posts, pool)
    topics_arr = gen.pop("topic_of")  # topic of post i; the file name carries i

    class ByName(dict):
        def __missing__(self, name: str) -> int:
            return int(topics_arr[int(name.rsplit("-p", 1)[1][:-3])])

    t0 = time.perf_counter()
    pre = prefill_cache(posts, cache, ByName(), gen["topics"])
    pre["prefill_s"] = round(time.perf_counter() - t0, 1)
    print(f"  wrote {gen['bytes'] / 2**20:.0f} MiB in {gen['write_s']} s; {pre['posts']} posts"
          f" parsed in {pre['parse_s']} s; cache {pre['cache_mib']} MiB", flush=True)
    cmd = [sys.executable, __file__, "--_child", str(posts), str(cache), str(out),
           "--step-timeout", str(args.step_timeout), "--mem-limit-gib", str(args.mem_limit_gib)]
    if args.report:
        cmd.append("--report")
    cmd += ["--steps", args.steps]
    load = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    sys.stderr.write(proc.stderr[-4000:] if proc.returncode else "")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    child = json.loads(lines[-1]) if lines else {"steps": {}, "crash": proc.stderr[-2000:]}
    child.update(n=n, wall_s=round(wall, 1), returncode=proc.returncode,
                 load_average_before=load, generation={**gen, **pre})
    for s in ("posts", "cache"):
        shutil.rmtree(root / s, ignore_errors=True)
    return child


def verdict(r: dict[str, Any]) -> str:
    steps = r["steps"]
    budget = [s for s in ("related", "tags+clusters", "tags", "clusters") if s in steps]
    if "related" not in budget or len(budget) < 2:
        return "not all of " + "+".join(BUDGET_STEPS) + " ran"
    secs = sum(steps[s]["seconds"] for s in budget)
    peak = max(steps[s]["peak_rss_mib"] for s in budget) / 1024
    ok = all(steps[s]["ok"] for s in budget)
    return (f"related+tags+clusters {secs:.1f} s wall (target {TARGET_S:.0f} s), peak "
            f"{peak:.2f} GiB (target {TARGET_GIB:.0f} GiB): "
            + ("met" if ok and secs < TARGET_S and peak < TARGET_GIB else "NOT met"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", type=Path,
                        help="source posts for the generated text (repeatable); default: "
                             "the shared corpora, else sample_blog/posts")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--report", action="store_true",
                        help="also time export + report (t-SNE map)")
    parser.add_argument("--step-timeout", type=float, default=600.0)
    parser.add_argument("--mem-limit-gib", type=float, default=16.0,
                        help="address-space cap of the timed process (a guard, not the target)")
    parser.add_argument("--steps", default=",".join(BUDGET_STEPS),
                        help="which of related,clusters,tags to run (default: all)")
    parser.add_argument("--name", default="scale")
    parser.add_argument("--_child", nargs=3, metavar=("POSTS", "CACHE", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        print(json.dumps(run_child(*args._child, report=args.report,
                                   step_timeout=args.step_timeout,
                                   mem_limit_gib=args.mem_limit_gib,
                                   only=tuple(args.steps.split(",")))))
        return

    corpora = args.corpus or [c for c in SHARED if c.is_dir()] or [SAMPLE]
    info = print_header("blogrec at scale: synthetic blogs, cached embeddings")
    pool = source_pool(corpora)
    print(f"source pool: {len(pool)} posts from {', '.join(str(c) for c in corpora)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="blogrec-scale-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            results.append(run_size(n, pool, Path(tmp), args))
    names = ["parse", "embed", "lexical", "related", "tags+clusters", "export+report"]
    print(f"\n{'posts':>7} {'tags':>6}  " + " ".join(f"{s:>22}" for s in names))
    for r in results:
        cells = []
        for s in names:
            e = r["steps"].get(s)
            cells.append("-" if e is None else
                         f"{e['seconds']:.1f}s {e['peak_rss_mib'] / 1024:.2f}GiB"
                         + ("" if e["ok"] else " FAIL"))
        print(f"{r['n']:>7} {r.get('tags', 0):>6}  " + " ".join(f"{c:>22}" for c in cells))
    for r in results:
        print(f"\n{r['n']:,} posts: {verdict(r)}; encoded {r.get('encoded')} texts "
              f"(0 = all from the cache); load before {r['load_average_before']}")
        for s, e in r["steps"].items():
            where = e["profile_blogrec"][:3]
            print(f"  {s}: {e['seconds']} s wall, {e['cpu_s']} s CPU; sampled in blogrec: "
                  f"{where}")
            if not e["ok"]:
                print(f"    FAILED: {e['error']}")
                for line in (e.get("traceback") or e.get("stack_at_timeout") or [])[-6:]:
                    print(f"      {line}")
                print(f"    innermost: {e['profile_innermost'][:3]}")
    end = describe()
    print(f"load average at the end: {end['load_average_1_5_15']}")
    path = write_results(args.name, {"machine": info, "machine_at_end": end,
                                     "targets": {"seconds": TARGET_S, "gib": TARGET_GIB},
                                     "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
