"""Encoding in another process: a child that encodes while the build goes on
(`EncodingProcess`), and the worker function Dask runs (`encode_chunk`)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .encoders import Encoder, Progress, get_encoder

log = logging.getLogger(__name__)

_WORKER_ENCODERS: dict[tuple[str, str | None], Encoder] = {}


# A Dask worker with several threads runs several chunks at once: one loads the model
# (and imports its libraries, which two threads must not do at once), the others wait.
_WORKER_LOCK = threading.Lock()


def encode_chunk(texts: Sequence[str], name: str = "use-multilingual",
                 handle: str | None = None, batch_size: int = 64) -> np.ndarray:
    """Encode texts in a worker process (Dask, `EncodingProcess`), loading the encoder
    once per process.

    `texts` must be distinct and not cached (see build.steps.texts_to_encode). Batches of
    `batch_size` are cut exactly as `embed_texts` cuts them, so a chunk that starts on a
    batch boundary gives the same bytes as a single-process run.
    """
    key = (name, handle)
    with _WORKER_LOCK:
        if key not in _WORKER_ENCODERS:
            encoder = get_encoder(name, handle)
            encoder.load()
            _WORKER_ENCODERS[key] = encoder
        encoder = _WORKER_ENCODERS[key]
    # Exactly what `embed_texts` puts in the cache: the encoder's output per batch, not
    # renormalised (normalising twice moves the last bits).
    parts = [encoder.encode(list(texts[i : i + batch_size]))
             for i in range(0, len(texts), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 512), dtype=np.float32)


def _batches(groups: Sequence[Sequence[str]], batch_size: int) -> list[tuple[int, int, int]]:
    """(group, start, end) of each encoder batch, in the order `embed_texts` encodes."""
    return [(g, start, min(start + batch_size, len(group)))
            for g, group in enumerate(groups) for start in range(0, len(group), batch_size)]


def _claim(directory: Path, batch: int) -> bool:
    """Take a batch for the calling process: of the two that try, exactly one succeeds."""
    try:
        os.close(os.open(directory / f"claim-{batch}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


class EncodingProcess:
    """Encodes texts in a child process while this one goes on with other work.

    The child is a fresh `python -m blogrec.embeddings.worker` (not `multiprocessing`, which
    re-imports the caller's `__main__`). It starts and loads the model at once, so that
    happens while the caller still parses the blog; `submit` then hands it the texts.
    It encodes them batch by batch from the first, and the caller, once its own work is
    done, can `help` from the last: each batch goes to whichever process claims it first
    (an exclusive file). Same encoder, same batches as `embed_texts`, hence the same
    vectors to the bit, whoever encodes them. The child reports progress on its stdout.
    `result()` returns the vectors of each group, or None (after logging why) if the
    child failed: the caller then encodes them itself.
    """

    def __init__(self, name: str = "use-multilingual", handle: str | None = None,
                 model_id: str | None = None, batch_size: int = 64,
                 progress: Progress | None = None) -> None:
        # model_id: what the caller's own encoder is; a child whose differs refuses
        self.model_id = model_id or get_encoder(name, handle).model_id
        self.batch_size = batch_size
        self.groups: list[list[str]] = []
        self.total = 0
        self._batches: list[tuple[int, int, int]] = []
        self._helped: dict[int, np.ndarray] = {}  # batch -> vectors encoded by the caller
        self.finished = False  # result() was called: the vectors were taken (or lost)
        self._done = {"child": 0, "here": 0}
        self._progress = progress
        self._dir = Path(tempfile.mkdtemp(prefix="blogrec-encode-"))
        self._out = self._dir / "vectors.npy"
        self._err = (self._dir / "stderr.txt").open("wb")
        env = dict(os.environ)
        # the child must import this very blogrec, wherever it was imported from
        here = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        spec = json.dumps({"encoder": name, "handle": handle, "model_id": self.model_id,
                           "batch_size": batch_size})
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "blogrec.embeddings.worker", spec, str(self._dir)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, env=env,
                text=True, encoding="utf-8")
        except BaseException:
            self.close()
            raise
        self._reader = threading.Thread(target=self._follow, daemon=True,
                                        name="blogrec-encoding-progress")
        self._reader.start()

    def _report(self) -> None:
        if not self._progress:
            return
        try:
            self._progress(self._done["child"] + self._done["here"], self.total)
        except Exception:  # a broken progress display must not stop the build
            log.exception("progress display failed; no more progress shown")
            self._progress = None

    def _follow(self) -> None:
        # Drains the child's stdout to the end, whatever the callback does: a child
        # blocked on a full pipe would never finish.
        assert self._proc.stdout is not None
        with self._proc.stdout:  # closed at the child's end: no pipe left to the GC
            for line in self._proc.stdout:
                if line.strip().isdigit():
                    self._done["child"] = int(line)
                    self._report()

    def submit(self, groups: Sequence[Sequence[str]]) -> None:
        """Give the child its texts (once): one list per field set, as
        `build.steps.texts_to_encode` makes them."""
        self.groups = [list(g) for g in groups]
        self.total = sum(len(g) for g in self.groups)
        self._batches = _batches(self.groups, self.batch_size)
        self._submitted = time.monotonic()
        job = self._dir / "job.json"
        job.write_text(json.dumps(self.groups, ensure_ascii=False), "utf-8")
        assert self._proc.stdin is not None
        try:  # one short line: never blocks on the pipe
            self._proc.stdin.write(f"{job}\n")
            self._proc.stdin.close()
        except OSError:  # the child is gone already; result() says why
            pass

    def help(self, encoder: Encoder, min_seconds: float = 2.0) -> int:
        """Encode batches in this process too, from the last one back, until the child
        (working forwards) has the next; returns how many texts this process encoded.
        Nothing when the child should be done within `min_seconds` at its pace so far:
        not worth loading the model here (~0.7 s). `encoder` must be the one the child
        makes (same `model_id`)."""
        if encoder.model_id != self.model_id:
            raise ValueError(f"encoder {encoder.model_id} is not the job's {self.model_id}")
        if self._proc.poll() is not None:
            return 0
        done = self._done["child"]
        if done:
            pace = (time.monotonic() - self._submitted) / done
            if (self.total - done) * pace < min_seconds:
                return 0
        encoded = 0
        for i in range(len(self._batches) - 1, -1, -1):
            if not _claim(self._dir, i):
                break
            g, start, end = self._batches[i]
            self._helped[i] = encoder.encode(self.groups[g][start:end])
            encoded += end - start
            self._done["here"] = encoded
            self._report()
        log.info("encoded %d of %d texts here, beside the encoding process", encoded,
                 self.total)
        return encoded

    def result(self) -> list[np.ndarray] | None:
        """Wait for the child; each group's vectors, or None if it failed (unless this
        process encoded them all)."""
        self.finished = True
        try:
            code = self._proc.wait()
            self._reader.join()
            mine = [i for i in range(len(self._batches)) if i not in self._helped]
            if code != 0 and mine:
                self._err.flush()
                err = (self._dir / "stderr.txt").read_text("utf-8", errors="replace")
                last = err.strip().splitlines()[-1:] or ["no message"]
                raise RuntimeError(f"exit status {code}: {last[0]}")
            if mine != list(range(len(mine))):
                raise RuntimeError("the batches of the two processes overlap")
            child = np.load(self._out, allow_pickle=False) if mine else None
            parts, row = [], 0
            for i, (_, start, end) in enumerate(self._batches):
                if i in self._helped:
                    parts.append(self._helped[i])
                else:
                    parts.append(child[row : row + end - start])  # type: ignore[index]
                    row += end - start
            if child is not None and row != len(child):
                raise RuntimeError(f"{len(child)} vectors from the child for {row} texts")
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("encoding in a worker process failed (%s); encoding here instead", exc)
            return None
        finally:
            self.close()
        flat = np.concatenate(parts) if parts else np.zeros((0, 512), dtype=np.float32)
        bounds = np.cumsum([0] + [len(g) for g in self.groups])
        return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def close(self) -> None:
        """Stop the child if it still runs and remove its files (idempotent)."""
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None and proc.stdin is not None and not proc.stdin.closed:
            try:  # never submitted (every text was cached)
                proc.stdin.close()
            except OSError:
                pass
        self._err.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EncodingProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _encoding_child(spec_json: str, workdir: str) -> None:
    """The child of `EncodingProcess`: load the model, wait for the path of a job file
    on stdin (none: exit), encode its batches from the first until one is claimed by
    the parent, write their vectors to `vectors.npy` in `workdir`."""
    # A parent killed outright (SIGKILL, an orchestrator's hard timeout) cannot remove
    # the work directory: the child, then orphaned, does, and stops.
    parent = os.getppid()

    def orphaned() -> bool:
        if os.getppid() == parent:
            return False
        shutil.rmtree(workdir, ignore_errors=True)
        return True

    spec = json.loads(spec_json)
    model_id = get_encoder(spec["encoder"], spec["handle"]).model_id
    if model_id != spec["model_id"]:
        sys.exit(f"this process's encoder is {model_id}, the caller's {spec['model_id']}")
    encode_chunk([], spec["encoder"], spec["handle"])  # loads the model
    job_path = sys.stdin.readline().strip()
    if not job_path or orphaned():
        return
    groups = json.loads(Path(job_path).read_text("utf-8"))
    directory = Path(workdir)
    parts, done = [], 0
    for i, (g, start, end) in enumerate(_batches(groups, spec["batch_size"])):
        if orphaned():
            return
        if not _claim(directory, i):
            break  # the parent, working backwards, has this one and the rest
        parts.append(encode_chunk(groups[g][start:end], spec["encoder"], spec["handle"],
                                  spec["batch_size"]))
        done += end - start
        try:
            print(done, flush=True)
        except BrokenPipeError:  # the parent is gone: nobody reads the pipe any more
            shutil.rmtree(workdir, ignore_errors=True)
            os._exit(1)  # (a normal exit would flush into the broken pipe again)
    vectors = np.concatenate(parts) if parts else np.zeros((0, 512), dtype=np.float32)
    tmp = directory / "vectors.npy.part"
    with open(tmp, "wb") as f:
        np.save(f, vectors, allow_pickle=False)
    os.replace(tmp, directory / "vectors.npy")


if __name__ == "__main__":
    _encoding_child(*sys.argv[1:3])
