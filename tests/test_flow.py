"""The Prefect flow (flows/build_flow.py): a one-off run and the scheduled deployment.

Everything runs in subprocesses with a private PREFECT_HOME and no inherited PREFECT_*
settings, so the tests behave the same on a clean machine and on one with a Prefect
profile. Each subprocess gets its own session and the whole process group is stopped in
teardown (TERM, then KILL), so nothing outlives a failing test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from blogrec.corpus import load_corpus
from blogrec.outputs import BUILD_REPORT, RELATED_JSON

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX"),
]

REPO = Path(__file__).resolve().parent.parent
FLOW = REPO / "flows" / "build_flow.py"
POSTS = REPO / "sample_blog" / "posts"
DRAFT = "2025-02-26-python-project-with-uv.md"
DEPLOYMENT = "blogrec-build/nightly"
CRON = "0 3 * * *"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),  # also holds profiles.toml and the SQLite database
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
        PYTHONUNBUFFERED="1",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(proc: subprocess.Popen, grace: float = 30) -> None:
    """TERM the process group, KILL it after `grace` seconds; also reap stragglers."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 30)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:  # leader and all children already gone
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        proc.kill()
        proc.wait(30)


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_outputs(out_dir: Path, reports_dir: Path) -> None:
    corpus = load_corpus(str(POSTS))
    related = json.loads((out_dir / RELATED_JSON).read_text())
    assert related["count"] == len(corpus.posts) > 0
    assert sorted(related["posts"]) == sorted(p.slug for p in corpus.posts)
    assert all(len(entry["related"]) == 4 for entry in related["posts"].values())
    report = json.loads((reports_dir / BUILD_REPORT).read_text())
    assert report["posts"] == len(corpus.posts)
    assert DRAFT in [note["path"] for note in report["skipped"]]
    assert report["rejected"] == []


def run_flow_script(tmp_path: Path, log: Path, *args: str) -> subprocess.CompletedProcess:
    with open(log, "wb") as fh:
        return subprocess.run(
            [sys.executable, str(FLOW), str(POSTS), "--out", str(tmp_path / "out"),
             "--reports", str(tmp_path / "reports"), "--cache-dir", str(tmp_path / "cache"),
             *args],
            cwd=REPO, env=prefect_env(tmp_path / "prefect-home"), stdout=fh,
            stderr=subprocess.STDOUT, timeout=900, start_new_session=True,
        )


def test_flow_runs_once_then_skips_an_unchanged_blog_like_the_cli(tmp_path):
    """The flow runs the CLI's plan: its first run builds, a second run of the same blog
    is skipped (nothing rewritten), and so is a CLI build of the same output after it."""
    out, reports = tmp_path / "out", tmp_path / "reports"
    first = tmp_path / "flow.log"
    proc = run_flow_script(tmp_path, first)
    assert proc.returncode == 0, tail(first)
    text = first.read_text(errors="replace")
    assert "Finished in state Completed()" in text
    for step in ("parse", "embed", "related", "tags", "evaluate"):  # the plan's steps, as tasks
        assert f"Task run '{step}" in text or f"| {step}-" in text, (step, tail(first))
    check_outputs(out, reports)
    written = {p: p.stat().st_mtime_ns for p in [*out.iterdir(), *reports.iterdir()]}

    second = tmp_path / "flow-again.log"
    proc = run_flow_script(tmp_path, second)
    assert proc.returncode == 0, tail(second)
    assert "nothing changed since the last build: skipped" in second.read_text(errors="replace")
    cli = subprocess.run([sys.executable, "-m", "blogrec.cli", "build", str(POSTS), "--out",
                          str(out), "--reports", str(reports), "--cache-dir",
                          str(tmp_path / "cache")], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert "nothing changed since the last build" in cli.stdout
    assert {p: p.stat().st_mtime_ns for p in written} == written


@pytest.fixture
def prefect_server(tmp_path) -> Iterator[tuple[str, Path, Path]]:
    """`prefect server start` on a free loopback port (SQLite in a private PREFECT_HOME)."""
    home = tmp_path / "prefect-home"
    procs: list[subprocess.Popen] = []
    try:
        for attempt in range(3):  # a free port can be taken before the server binds it
            port = free_port()
            log = tmp_path / f"server-{attempt}.log"
            proc = start([sys.executable, "-m", "prefect", "server", "start",
                          "--host", "127.0.0.1", "--port", str(port)], prefect_env(home), log)
            procs.append(proc)
            api = f"http://127.0.0.1:{port}/api"
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if httpx.get(f"{api}/health", timeout=5).status_code == 200:
                        yield api, home, log
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(1)
            stop(proc)
            if "address already in use" not in tail(log).lower():
                break
        pytest.fail(f"prefect server did not answer /api/health in 180 s:\n{tail(log)}")
    finally:
        for proc in procs:
            stop(proc)


def test_scheduled_deployment_serves_and_runs(tmp_path, prefect_server):
    from flows.build_flow import DEPLOYMENT_NAME, build_flow

    assert f"{build_flow.name}/{DEPLOYMENT_NAME}" == DEPLOYMENT
    api, home, server_log = prefect_server
    out, reports = tmp_path / "out", tmp_path / "reports"
    log = tmp_path / "serve.log"
    serve = start([sys.executable, str(FLOW), str(POSTS), "--out", str(out), "--reports",
                   str(reports), "--cache-dir", str(tmp_path / "cache"), "--serve",
                   "--cron", CRON], prefect_env(home, api), log)
    try:
        with httpx.Client(base_url=api, timeout=30) as client:
            # 1. the deployment appears with its cron schedule and parameters
            deadline = time.monotonic() + 240
            while True:
                assert serve.poll() is None, f"serve process exited:\n{tail(log)}"
                assert time.monotonic() < deadline, f"no deployment after 240 s:\n{tail(log)}"
                resp = client.get(f"/deployments/name/{DEPLOYMENT}")
                if resp.status_code == 200:
                    break
                assert resp.status_code in (404, 503), resp.text
                time.sleep(2)
            deployment = resp.json()
            crons = [s["schedule"].get("cron") for s in deployment["schedules"] if s["active"]]
            assert crons == [CRON], deployment["schedules"]
            assert deployment["paused"] is False
            assert deployment["parameters"]["options"]["out_dir"] == str(out)

            # 2. the server's scheduler turns the cron into upcoming runs at 03:00 UTC
            query = {"flow_runs": {"deployment_id": {"any_": [deployment["id"]]},
                                   "state": {"type": {"any_": ["SCHEDULED"]}}},
                     "sort": "EXPECTED_START_TIME_ASC", "limit": 3}
            deadline = time.monotonic() + 180
            while not isinstance(upcoming := client.post("/flow_runs/filter", json=query).json(),
                                 list) or not upcoming:  # a busy server answers 503
                assert time.monotonic() < deadline, (
                    f"the scheduler made no run from the cron in 180 s:\n{tail(server_log)}")
                time.sleep(3)
            for run in upcoming:
                begins = datetime.fromisoformat(run["expected_start_time"].replace("Z", "+00:00"))
                assert begins.utcoffset() == timedelta(0) and (begins.hour, begins.minute) == (3, 0)
                assert run["auto_scheduled"] is True

            # 3. trigger a run now (what `prefect deployment run` does) and wait for it
            # The SQLite-backed server answers 503 while it is busy (seen in CI under load):
            # retry a bounded number of times, as Prefect's own client does.
            for _ in range(20):
                resp = client.post(f"/deployments/{deployment['id']}/create_flow_run",
                                   json={})
                if resp.status_code < 500:
                    break
                time.sleep(3)
            assert resp.status_code == 201, resp.text
            run_id = resp.json()["id"]
            deadline = time.monotonic() + 360
            state = None
            while state not in TERMINAL:
                assert time.monotonic() < deadline, f"run still {state} after 360 s:\n{tail(log)}"
                assert serve.poll() is None, f"serve process exited:\n{tail(log)}"
                time.sleep(2)
                resp = client.get(f"/flow_runs/{run_id}")
                if resp.status_code >= 500:  # busy SQLite-backed server; ask again
                    continue
                run = resp.json()
                state = (run.get("state") or {}).get("type")
            assert state == "COMPLETED", f"{run['state']}\n{tail(log)}"
            assert run["deployment_id"] == deployment["id"]
        check_outputs(out, reports)
    finally:
        stop(serve)


def test_dask_distributed_embedding_gives_the_same_bytes_as_one_process(tmp_path):
    """--dask-workers 2: the flow embeds on a local 2-worker Dask cluster; the site data,
    the JSON reports and the embedding cache file equal a plain CLI build's, byte for byte."""
    blogrec_cli = [sys.executable, "-m", "blogrec.cli", "-q", "build", str(POSTS), "--no-eval"]
    runs = {}
    for name, extra in (("single", []), ("dask", ["--dask-workers", "2"])):
        out, reports, cache = (tmp_path / name / d for d in ("site", "reports", "cache"))
        home = tmp_path / name / "prefect-home"
        home.mkdir(parents=True)  # Prefect creates its home but not missing parents
        env = prefect_env(home)
        env["BLOGREC_CACHE_DIR"] = str(cache)
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as fh:
            proc = subprocess.run([*blogrec_cli, "--out", str(out), "--reports", str(reports),
                                   *extra], cwd=REPO, env=env, stdout=fh,
                                  stderr=subprocess.STDOUT, timeout=1200,
                                  start_new_session=True)
        assert proc.returncode == 0, tail(log)
        runs[name] = (out, reports, cache)
    assert "encoded" in (tmp_path / "dask.log").read_text(errors="replace")  # on the workers
    (s_out, s_rep, s_cache), (d_out, d_rep, d_cache) = runs["single"], runs["dask"]
    for name in ("related.json", "tags.json", "clusters.json", "vectors.json"):
        assert (s_out / name).read_bytes() == (d_out / name).read_bytes(), name
    for name in ("build-report.json", "report.json", "report.md"):
        assert (s_rep / name).read_bytes() == (d_rep / name).read_bytes(), name
    s_files, d_files = sorted(s_cache.iterdir()), sorted(d_cache.iterdir())
    assert [f.name for f in s_files] == [f.name for f in d_files] and s_files
    assert [f.read_bytes() for f in s_files] == [f.read_bytes() for f in d_files]
