"""What machine a benchmark ran on, and where its JSON goes. Shared by every benchmark."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "reports" / "benchmarks"
# the shared corpora beside the repo (../shared/corpora): every benchmark's default
SHARED_CORPORA = REPO.parent / "shared" / "corpora"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    try:
        mod = __import__(module)
    except Exception:  # noqa: BLE001 - a missing optional library is just "None"
        return None
    return str(getattr(mod, "__version__", "?"))


def describe() -> dict[str, Any]:
    """CPU, cores, RAM, OS, library versions and the load average right now.

    The load average matters: other jobs share this machine, so only ratios measured in
    the same run are comparable across runs.
    """
    import psutil

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": _cpu_model(),
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "available_ram_gib": round(psutil.virtual_memory().available / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "faiss": _version("faiss"),
        "load_average_1_5_15": load,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def print_header(title: str) -> dict[str, Any]:
    """Print the title and the machine description; return the description."""
    info = describe()
    print(f"== {title} ==")
    print(
        f"machine: {info['cpu']}, {info['usable_cores']} usable cores, {info['ram_gib']} GiB RAM; "
        f"Python {info['python']}, numpy {info['numpy']}, faiss {info['faiss']}; "
        f"load average {info['load_average_1_5_15']}"
    )
    sys.stdout.flush()
    return info


def timed_run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str, str]:
    """(wall seconds, stdout, stderr) of a whole process run from the repo; an error if
    it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, proc.stdout, proc.stderr


def child_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write data to reports/benchmarks/<name>.json atomically; return the path."""
    from blogrec.store import atomic_write_json

    path = RESULTS_DIR / f"{name}.json"
    atomic_write_json(path, data)
    return path


def rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (ru_maxrss, KiB on Linux)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class PeakRSS:
    """Context manager: peak RSS above the starting RSS while the block ran.

    ru_maxrss only ever grows, so steps after the biggest one would all show the same
    figure; a sampling thread (every 20 ms) gives each step its own peak.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.start = rss_bytes()
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def delta_mib(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)
