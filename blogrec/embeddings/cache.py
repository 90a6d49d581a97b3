"""The on-disk embedding cache, and embedding texts through it."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..store import ChecksummedFile, cache_file_name, text_key
from ..vectors import normalize_rows
from .encoders import Encoder, Progress

# How often a long encoding run writes the cache to disk (each save rewrites the file).
CHECKPOINT_SECONDS = 30.0
_MAGIC = b"BLOGREC-EMBEDDINGS 1\n"


class EmbeddingCache(ChecksummedFile):
    """Vectors keyed by (model id, sha256 of the text), one file per model and blog.

    File layout: magic line, JSON header line (model id, count, dim, payload sha256),
    then the sorted 32-byte keys and the float32 vectors. Anything that does not check
    out (truncated, corrupt, another model's) is ignored and rebuilt.
    """

    magic = _MAGIC
    kind = "embedding cache"

    def __init__(self, directory: str | os.PathLike[str], model_id: str,
                 namespace: str | None = None) -> None:
        # namespace (the blog's directory): one file per blog, so two blogs sharing a cache
        # directory do not evict each other's vectors when each prunes what it no longer uses
        self.directory = Path(directory)
        super().__init__(self.directory / cache_file_name(model_id, namespace, ".emb"))
        self.model_id = model_id
        self.vectors: dict[bytes, np.ndarray] = {}
        self.loaded = 0
        self._read()

    def _decode(self, header: dict[str, Any], payload: bytes) -> None:
        if header.get("model_id") != self.model_id:
            raise ValueError(f"cache is for model {header.get('model_id')!r}")
        n, dim = int(header["count"]), int(header["dim"])
        keys = payload[: 32 * n]
        vecs = np.frombuffer(payload[32 * n :], dtype="<f4").reshape(n, dim)
        self.vectors = {keys[32 * i : 32 * (i + 1)]: vecs[i] for i in range(n)}
        self.loaded = n

    def _encode(self) -> tuple[dict[str, Any], bytes]:
        keys = sorted(self.vectors)
        dim = len(self.vectors[keys[0]]) if keys else 0
        vecs = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 0))
        payload = b"".join(keys) + np.ascontiguousarray(vecs, dtype="<f4").tobytes()
        return {"model_id": self.model_id, "count": len(keys), "dim": dim}, payload

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
