"""Faults: builds killed mid-embedding and mid-export, a corrupt cache, two builds at once,
a full disk, a flaky embedding step under Prefect; and the same bytes every time.

Builds that must die or race run as subprocesses (`python -m blogrec.cli build`), each in
its own session, with timeouts; whatever is still running at the end is killed by pid.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from blogrec.build import BuildConfig, BuildResult, run_build
from blogrec.build.runtime import LOCK_NAME
from blogrec.embeddings import EmbeddingCache
from blogrec.outputs import BUILD_REPORT, RELATED_JSON
from blogrec.store import STALE_TMP_SECONDS, OutputBatch, atomic_write_json

from . import hostile

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="signals, tmpfs, POSIX")

REPO = Path(__file__).resolve().parent.parent
IN_CI = bool(os.environ.get("CI"))
TIMEOUT = 420  # seconds for any one subprocess build on a busy 2-core machine
JSON_REPORTS = ("report.json", "build-report.json")


# ------------------------------------------------------------------ helpers


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BLOGREC_"))}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO), **extra)
    return env


def cli_cmd(posts: Path, out: Path, reports: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "blogrec.cli", "build", str(posts), "--out", str(out),
            "--reports", str(reports), "--cache-dir", str(cache), "--no-eval", *extra]


def cli_build(posts: Path, out: Path, reports: Path, cache: Path, *extra: str
              ) -> subprocess.CompletedProcess:
    proc = subprocess.run(cli_cmd(posts, out, reports, cache, *extra), cwd=REPO,
                          env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen]]:
    """Subprocesses a test starts; any still running at teardown is killed by pid."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def files(*dirs: Path) -> dict[str, bytes]:
    """Every visible file under dirs (relative name -> bytes)."""
    return {f"{d.name}/{p.relative_to(d)}": p.read_bytes()
            for d in dirs for p in sorted(d.rglob("*")) if p.is_file()
            and not p.name.startswith(".")}


def temp_leftovers(*dirs: Path) -> list[Path]:
    return [p for d in dirs for p in d.glob(".*.tmp")]


def assert_readable(out: Path, reports: Path) -> None:
    for p in [*out.glob("*.json"), *(reports / n for n in JSON_REPORTS)]:
        json.loads(p.read_text(encoding="utf-8"))  # complete, parseable JSON
    assert (reports / "index.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def slugs_of(out: Path) -> set[str]:
    return set(json.loads((out / RELATED_JSON).read_text(encoding="utf-8"))["posts"])


def assert_single_run(out: Path, reports: Path, posts: Path) -> None:
    """Every output file comes from one build of `posts`."""
    from blogrec.corpus import load_corpus

    expected = {p.slug for p in load_corpus(posts).posts}
    assert slugs_of(out) == expected
    report = json.loads((reports / BUILD_REPORT).read_text(encoding="utf-8"))
    assert report["posts_dir"] == str(posts) and report["posts"] == len(expected)
    tags = json.loads((out / "tags.json").read_text(encoding="utf-8"))
    assert set(tags["posts"]) == expected
    members = {m for c in json.loads((out / "clusters.json").read_text())["clusters"]
               for m in c["members"]}
    assert members == expected


def small_blog(root: Path, seed: int, n: int = 12) -> Path:
    hostile.write_good_posts(root, n, seed=seed, prefix=f"blog{seed}")
    return root


def inproc(posts: Path, out: Path, reports: Path, cache: Path) -> BuildResult:
    return run_build(BuildConfig(posts_dir=str(posts), out_dir=str(out),
                                 reports_dir=str(reports), cache_dir=str(cache),
                                 evaluate=False, lock_timeout=30))


# ------------------------------------------------------------------ (a) killed embedding


@pytest.mark.slow
def test_sigkill_during_embedding_keeps_the_previous_output(tmp_path, procs):
    out, reports = tmp_path / "site_data", tmp_path / "reports"
    inproc(small_blog(tmp_path / "old-blog", 1), out, reports, tmp_path / "old-cache")
    before = files(out, reports)

    big = tmp_path / "big-blog"
    hostile.copy_sample_blog(big)
    hostile.write_good_posts(big, 100, seed=3, prefix="gen")
    cache = tmp_path / "cache"  # empty
    proc = subprocess.Popen(cli_cmd(big, out, reports, cache), cwd=REPO, env=clean_env(),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    procs.append(proc)
    lines: list[str] = []
    timer = threading.Timer(TIMEOUT, lambda: proc.kill())  # never wait forever
    timer.start()
    try:
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if m := re.match(r"embedding: (\d+)/(\d+)", line):
                os.killpg(proc.pid, signal.SIGKILL)
                done, total = int(m[1]), int(m[2])
                break
        else:
            pytest.fail("no embedding progress before the build ended:\n" + "".join(lines))
    finally:
        timer.cancel()
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL
    assert done < total, "killed too late: embedding had finished"

    # the previous site and reports are untouched and readable; nothing half-written
    assert files(out, reports) == before
    assert_readable(out, reports)
    assert temp_leftovers(out, reports) == []
    # Real behaviour: the embedding cache is saved once, after all texts are encoded, so a
    # run killed during embedding leaves no cache at all (nothing to reuse next time).
    assert list(cache.glob("*.emb")) == []

    again = cli_build(big, out, reports, cache)
    progress = re.findall(r"embedding: (\d+)/(\d+)", again.stderr)
    assert progress and int(progress[0][1]) == total  # everything is encoded again
    assert_readable(out, reports)
    assert_single_run(out, reports, big)
    assert len(list(cache.glob("*.emb"))) == 1


# ------------------------------------------------------------------ (b) killed export


@pytest.mark.slow
def test_sigkill_between_renames_leaves_each_file_old_or_new(tmp_path):
    out, reports = tmp_path / "site_data", tmp_path / "reports"
    old_blog, new_blog = small_blog(tmp_path / "blog1", 1), small_blog(tmp_path / "blog2", 2)
    inproc(old_blog, out, reports, tmp_path / "cache")
    before = files(out, reports)

    code = ("import tests.hostile as h; h.build_and_die_after_first_rename("
            f"{str(new_blog)!r}, {str(out)!r}, {str(reports)!r}, {str(tmp_path / 'cache')!r})")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=clean_env(),
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert "killing myself" in proc.stderr

    after = files(out, reports)
    assert set(after) == set(before)
    changed = [name for name in after if after[name] != before[name]]
    assert changed == [f"site_data/{RELATED_JSON}"]  # the one renamed file is the new one
    assert slugs_of(out) == {p.stem for p in new_blog.glob("*.md")}
    assert_readable(out, reports)  # every file is whole: old or new, never half-written
    leftovers = temp_leftovers(out, reports)
    assert leftovers, "expected the killed run's staged files"

    # The next run succeeds. Leftovers younger than STALE_TMP_SECONDS could belong to a
    # live writer and are kept; once older (the next nightly run), they are removed.
    old = time.time() - STALE_TMP_SECONDS - 60
    for p in leftovers:
        os.utime(p, (old, old))
    inproc(new_blog, out, reports, tmp_path / "cache")
    assert temp_leftovers(out, reports) == []
    assert_single_run(out, reports, new_blog)
    assert_readable(out, reports)


def test_stale_temp_files_are_removed_and_fresh_ones_kept(tmp_path):
    target = tmp_path / "related.json"
    stale, fresh = tmp_path / ".related.json.abc.tmp", tmp_path / ".related.json.def.tmp"
    other = tmp_path / ".tags.json.ghi.tmp"
    for p in (stale, fresh, other):
        p.write_text("partial")
    old = time.time() - STALE_TMP_SECONDS - 1
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    with OutputBatch() as batch:
        batch.add_json(target, {"v": 1})
        batch.commit()
    assert not stale.exists() and fresh.exists() and other.exists()  # only its own name
    atomic_write_json(tmp_path / "tags.json", {"v": 1})
    assert not other.exists()


# ------------------------------------------------------------------ (c) corrupt cache


@pytest.mark.slow
def test_truncated_or_corrupt_cache_is_detected_and_rebuilt(tmp_path, caplog):
    posts, cache = small_blog(tmp_path / "blog", 4), tmp_path / "cache"
    first = inproc(posts, tmp_path / "o1", tmp_path / "r1", cache)
    (emb,) = cache.glob("*.emb")
    reference = files(tmp_path / "o1") | {n: b for n, b in files(tmp_path / "r1").items()
                                          if n.endswith(JSON_REPORTS)}
    size = emb.stat().st_size

    for damage, name in (("truncate", "2"), ("flip", "3")):
        data = bytearray(emb.read_bytes())
        if damage == "truncate":
            data = data[: len(data) // 2]
        else:
            data[-100] ^= 0xFF
        emb.write_bytes(bytes(data))
        caplog.clear()
        result = inproc(posts, tmp_path / f"o{name}", tmp_path / f"r{name}", cache)
        assert "it will be rebuilt" in caplog.text
        # all-or-nothing: the checksum covers the whole payload, so nothing is reused
        assert result.features.encoded == first.features.encoded > 0
        got = files(tmp_path / f"o{name}") | {
            n: b for n, b in files(tmp_path / f"r{name}").items() if n.endswith(JSON_REPORTS)}
        assert {n.split("/", 1)[1]: b for n, b in got.items()} == {
            n.split("/", 1)[1]: b for n, b in reference.items()}
        assert emb.stat().st_size == size
        assert EmbeddingCache(cache, first.features.encoder.model_id,
                              str(posts.resolve())).loaded > 0


# ------------------------------------------------------------------ (d) two builds at once


@pytest.mark.slow
def test_two_builds_on_one_output_never_mix(tmp_path, procs):
    from filelock import FileLock

    out, reports = tmp_path / "site_data", tmp_path / "reports"
    blogs = [small_blog(tmp_path / "blog1", 1), small_blog(tmp_path / "blog2", 2, n=15)]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    for blog, log in zip(blogs, logs, strict=True):
        with open(log, "w") as fh:
            procs.append(subprocess.Popen(
                cli_cmd(blog, out, reports, tmp_path / f"cache-{blog.name}",
                        "--lock-timeout", "300"),
                cwd=REPO, env=clean_env(), stdout=fh, stderr=subprocess.STDOUT, text=True,
                start_new_session=True))
    for proc, log in zip(procs, logs, strict=True):
        assert proc.wait(TIMEOUT) == 0, log.read_text()[-3000:]
    # one waited for the other: every file is from the same (the last) build
    report = json.loads((reports / BUILD_REPORT).read_text())
    last = next(b for b in blogs if str(b) == report["posts_dir"])
    assert_single_run(out, reports, last)
    assert_readable(out, reports)
    before = files(out, reports)

    # while a build holds the output, another refuses after --lock-timeout, clearly
    with FileLock(str(out / LOCK_NAME)):
        refused = subprocess.run(cli_cmd(blogs[0], out, reports, tmp_path / "cache-x",
                                         "--lock-timeout", "1"),
                                 cwd=REPO, env=clean_env(), capture_output=True, text=True,
                                 timeout=TIMEOUT)
    assert refused.returncode == 1
    assert "another blogrec build is writing to" in refused.stderr
    assert files(out, reports) == before


# ------------------------------------------------------------------ (e) disk full


@pytest.fixture
def tiny_tmpfs(tmp_path) -> Iterator[Path]:
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        if IN_CI:
            pytest.fail(f"cannot mount a tmpfs in CI: {proc.stderr}")
        pytest.skip(f"mount -t tmpfs not permitted here: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], timeout=60).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], timeout=60)


@pytest.mark.slow
def test_disk_full_fails_cleanly_and_keeps_the_old_output(tmp_path, tiny_tmpfs):
    out, reports = tiny_tmpfs / "site_data", tiny_tmpfs / "reports"
    posts = small_blog(tmp_path / "blog", 1)
    inproc(posts, out, reports, tmp_path / "cache")
    before = files(out, reports)
    filler = tiny_tmpfs / "filler"
    with open(filler, "wb", buffering=0) as fh:  # fill the disk to the last block
        for size in (65536, 4096, 1):
            try:
                for _ in range(100_000):
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC

    hostile.write_good_posts(posts, 3, seed=9, prefix="more")  # a new build to write
    proc = subprocess.run(cli_cmd(posts, out, reports, tmp_path / "cache"), cwd=REPO,
                          env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode != 0
    assert "No space left on device" in proc.stderr  # the cause, in the error
    assert files(out, reports) == before  # old output kept, byte for byte
    assert temp_leftovers(out, reports) == []  # staged files removed
    assert_readable(out, reports)

    filler.unlink()  # space again: the next build goes through
    cli_build(posts, out, reports, tmp_path / "cache")
    assert_single_run(out, reports, posts)


# ------------------------------------------------------------------ same bytes every time


def strip_timings(page: str) -> str:
    return re.sub(r'<section id="s-timings">.*?</section>', "", page, flags=re.S)


def comparable(out: Path, reports: Path) -> dict[str, bytes]:
    got = {f"site_data/{p.name}": p.read_bytes() for p in sorted(out.glob("*.json"))}
    for name in (*JSON_REPORTS, "report.md"):
        got[f"reports/{name}"] = (reports / name).read_bytes()
    return got


@pytest.fixture(scope="module")
def det_blog(tmp_path_factory) -> Path:
    """30 posts of the sample blog (Japanese and English, >= 20 tagged: the full default)."""
    root = tmp_path_factory.mktemp("det") / "posts"
    root.mkdir()
    for p in sorted(hostile.SAMPLE_BLOG.glob("*.md"))[:30]:
        (root / p.name).write_bytes(p.read_bytes())
    return root


@pytest.fixture(scope="module")
def cli_reference(det_blog, tmp_path_factory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("cli-ref")
    out, reports, cache = base / "site_data", base / "reports", base / "cache"
    cli_build(det_blog, out, reports, cache)  # fresh cache
    return out, reports, cache


@pytest.mark.slow
def test_same_input_same_bytes_fresh_or_warm_cache(det_blog, cli_reference, tmp_path):
    out1, rep1, cache = cli_reference
    out2, rep2 = tmp_path / "site_data", tmp_path / "reports"
    warm = cli_build(det_blog, out2, rep2, cache)  # warm cache
    assert comparable(out1, rep1) == comparable(out2, rep2)
    assert {p.name for p in out1.glob("*.json")} == {
        "related.json", "tags.json", "clusters.json", "vectors.json"}
    page1, page2 = ((r / "index.html").read_text(encoding="utf-8") for r in (rep1, rep2))
    assert strip_timings(page1) == strip_timings(page2)
    assert 'id="s-timings"' in page1
    assert warm.returncode == 0


# ------------------------------------------------------------------ (f) Prefect retries


@pytest.mark.slow
def test_prefect_flow_retries_embedding_then_fails_with_the_cause(det_blog, cli_reference,
                                                                   tmp_path):
    runs = [
        {"fail": 1, "out": str(tmp_path / "ok" / "site_data"),
         "reports": str(tmp_path / "ok" / "reports"), "cache": str(tmp_path / "cache-ok")},
        {"fail": 99, "out": str(tmp_path / "bad" / "site_data"),
         "reports": str(tmp_path / "bad" / "reports"), "cache": str(tmp_path / "cache-bad")},
    ]
    result = tmp_path / "flow-result.json"
    code = (f"import tests.hostile as h; h.run_flow_with_failures({str(det_blog)!r}, "
            f"{runs!r}, {str(result)!r})")
    env = clean_env(PREFECT_HOME=str(tmp_path / "prefect-home"),
                    PREFECT_SERVER_ANALYTICS_ENABLED="false",
                    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    log = tmp_path / "flow.log"
    with open(log, "w") as fh:
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, stdout=fh,
                              stderr=subprocess.STDOUT, timeout=TIMEOUT, start_new_session=True)
    text = log.read_text(errors="replace")
    assert proc.returncode == 0, text[-4000:]
    ok, bad = json.loads(result.read_text())

    # a transient failure: retried, and the run completes
    assert ok["type"] == "COMPLETED", ok
    assert ok["embed_calls"] == 2 and ok["retries"] >= 1
    assert re.search(r"Retry 1/\d+ will start", text), text[-4000:]
    # a permanent one: every retry used, the flow run Failed, the cause in its message
    assert bad["type"] == "FAILED", bad
    assert bad["embed_calls"] == 1 + bad["retries"]
    assert "injected transient failure" in (bad["error"] or "")
    assert "injected transient failure" in (bad["message"] or ""), bad
    assert not (tmp_path / "bad" / "site_data" / RELATED_JSON).exists()

    # the Prefect path writes the same bytes as the CLI path
    out_ref, rep_ref, _ = cli_reference
    assert comparable(tmp_path / "ok" / "site_data", tmp_path / "ok" / "reports") == \
        comparable(out_ref, rep_ref)
