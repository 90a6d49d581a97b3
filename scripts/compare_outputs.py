"""Build blogs with two commits of blogrec and compare every file they write.

    python scripts/compare_outputs.py BASE [HEAD] [--corpus DIR ...] [--work DIR]

BASE and HEAD are git revisions (HEAD defaults to the work tree as it is, uncommitted
changes included). Each is checked out in a temporary git worktree and runs
`python -m blogrec.cli build CORPUS` with this interpreter, a cache of its own and
`--force`; then every file of site data and reports is compared byte for byte, except
what is meant to vary between runs: `timings.json`, the timings section of
`index.html`, and the build state (which holds the code's digest). Corpora default to
the repo's sample blog and, when present, the shared corpora beside the repo
(../shared/corpora/ja-efcl, ../shared/corpora/en-18f).

Exit status 0 when every compared file is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPORA = [REPO / "sample_blog" / "posts",
                   REPO.parent / "shared" / "corpora" / "ja-efcl",
                   REPO.parent / "shared" / "corpora" / "en-18f"]
VARYING = {"timings.json", ".blogrec-state.json", ".blogrec.lock"}
# index.html shows the run's timings in this one section: compared without it.
TIMINGS_SECTION = re.compile(rb'<section id="s-timings">.*?</section>', re.DOTALL)


def content(path: Path) -> bytes:
    data = path.read_bytes()
    return TIMINGS_SECTION.sub(b"", data) if path.name == "index.html" else data


def checkout(rev: str | None, into: Path) -> Path:
    """A tree of `rev` (None: the work tree, uncommitted changes included)."""
    if rev is None:
        shutil.copytree(REPO, into, ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "site_data", "reports", "test-artifacts"))
        return into
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(into), rev],
                   check=True, capture_output=True)
    return into


def build(tree: Path, corpus: Path, out: Path, cache: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "blogrec.cli", "-q", "build", str(corpus),
           "--out", str(out / "site_data"), "--reports", str(out / "reports"),
           "--cache-dir", str(cache), "--force"]
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"build failed in {tree} for {corpus}:\n{proc.stderr[-2000:]}")


def compare(a: Path, b: Path) -> tuple[list[str], list[str]]:
    """(identical files, differing or missing files), relative paths."""
    names = sorted({p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
                   | {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()})
    same, diff = [], []
    for name in names:
        if Path(name).name in VARYING:
            continue
        pa, pb = a / name, b / name
        if pa.is_file() and pb.is_file() and content(pa) == content(pb):
            same.append(name)
        else:
            diff.append(name)
    return same, diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("head", nargs="?", default=None,
                        help="a revision (default: the work tree as it is)")
    parser.add_argument("--corpus", action="append", type=Path,
                        help="a posts directory (repeatable; default: sample + shared)")
    parser.add_argument("--work", type=Path, help="keep the builds here (default: temp)")
    args = parser.parse_args(argv)
    corpora = args.corpus or [c for c in DEFAULT_CORPORA if c.is_dir()]
    work = args.work or Path(tempfile.mkdtemp(prefix="blogrec-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    trees = {}
    worktrees = []
    try:
        for side, rev in (("base", args.base), ("head", args.head)):
            trees[side] = checkout(rev, work / f"tree-{side}")
            if rev is not None:
                worktrees.append(trees[side])
        failed = False
        for corpus in corpora:
            outs = {}
            for side, tree in trees.items():
                outs[side] = work / corpus.name / side
                build(tree, corpus, outs[side], work / "cache" / side)
            same, diff = compare(outs["base"], outs["head"])
            status = "identical" if not diff else f"{len(diff)} differ"
            print(f"{corpus.name}: {len(same)} files identical, {status}")
            for name in diff:
                print(f"  differs: {name}")
            failed |= bool(diff)
        return 1 if failed else 0
    finally:
        for tree in worktrees:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(tree)], capture_output=True)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
