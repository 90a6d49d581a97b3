"""The tag model a build saves beside its caches, so that `blogrec suggest-tags` scores a
draft without fitting the model or computing the blog's features again.

One file per blog (its cache namespace) in the cache directory, named
`tag-model-v1-<12 hex digits>.tags` (`tag_model_path`), written by the build with its
other outputs (atomically). Layout (`store.pack_checked`): the magic line
`BLOGREC-TAG-MODEL 1`, one JSON header line, the payload. The header holds the format
version, blogrec's version, the encoder's model id, the blog's fingerprint
(`blog_fingerprint`), the model's parameters, the payload's sha256 and its sections:
[name, dtype, shape, offset, bytes] of each numpy array (raw little-endian bytes, no
pickle) and of one UTF-8 JSON section (the tags and the vocabulary's words).

A model is used only when all of these match the blog and the encoder of this run;
otherwise (`Loaded.reason`: none, changed, encoder, version, corrupt) the caller fits one
as before. A file that does not check out is logged and ignored, never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse

from .. import __version__
from ..embeddings.cache import EmbeddingCache, embed_texts
from ..embeddings.encoders import Encoder
from ..fingerprint import code_digest, posts_digest, versions_digest
from ..ridge import Ridge
from ..store import cache_file_name, pack_checked, unpack_checked
from ..taxonomy import TagVocabulary
from .drafts import DraftModel, FoldModel, Lexicon
from .signals import KnnVote, MeanVector, NameRates, Prior

log = logging.getLogger(__name__)

FORMAT = 1
MAGIC = b"BLOGREC-TAG-MODEL 1\n"
_MAGIC_ANY = b"BLOGREC-TAG-MODEL "

# Libraries whose version can change a tag score (the encoder's is in its model id).
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "faiss-cpu", "sentencepiece", "fugashi",
              "unidic-lite", "python-frontmatter", "PyYAML")


def tag_model_path(cache_dir: str | Path, namespace: str) -> Path:
    """The blog's saved tag model in `cache_dir` (namespace: `build.reading.
    cache_namespace`, the resolved posts directory)."""
    return Path(cache_dir) / cache_file_name(f"tag-model-v{FORMAT}", namespace, ".tags")


def blog_fingerprint(posts_dir: str | Path, settings: str = "",
                     folders: Sequence[str] = (".",)) -> str:
    """sha256 of what a fitted tag model depends on, the encoder aside: every Markdown
    file's path and bytes (read as the build reads them; nothing is parsed), blogrec's
    code and the versions of the libraries that compute the scores. As the build's own
    fingerprint (`build.state`), without the settings that change no tag; `settings`:
    those that do (the taxonomy, the detected site: `build.BuildConfig.tag_settings`);
    folders: the posts folders of a site root."""
    h = hashlib.sha256(f"blogrec-tag-model-{FORMAT}".encode())
    h.update(settings.encode())
    for digest in (versions_digest(_LIBRARIES), code_digest(), posts_digest(posts_dir, folders)):
        h.update(digest.encode())
    return h.hexdigest()


# ---------------------------------------------------------------- writing


def _arrays(model: DraftModel) -> dict[str, np.ndarray]:
    m = model.model
    y = sparse.csr_matrix(m.y)
    arrays = {
        "vocab_counts": model.vocab.counts, "train": m.train, "train_joint": model.train_joint,
        "y_data": y.data, "y_indices": y.indices, "y_indptr": y.indptr,
        "ridge_w": m.ridge.w_, "ridge_mean": m.ridge.mean_,
        "rates_title": m.names.rates_[0], "rates_body": m.names.rates_[1],
        "mean_vectors": m.mean.vectors_, "lsi_basis": model.lexicon.basis,
    }
    if model.lexicon.idf is not None:
        arrays["idf"] = model.lexicon.idf
    if model.fusion is not None:
        w, b = model.fusion
        arrays["fusion"] = np.append(np.asarray(w, dtype=np.float64), b)
    return arrays


@dataclass
class TagModelFile:
    """A fitted model's `DraftModel` as the build saves it: where, and its bytes."""

    path: Path
    model: DraftModel
    fingerprint: str  # `blog_fingerprint` of the blog it was fitted on
    model_id: str  # the encoder's

    def encode(self) -> bytes:
        model = self.model
        strings = json.dumps({"keys": model.vocab.keys, "display": model.vocab.display,
                              "terms": model.lexicon.terms}, ensure_ascii=False).encode()
        parts: list[bytes] = [strings]
        sections: list[list[Any]] = [["strings", "json", [len(strings)], 0, len(strings)]]
        offset = len(strings)
        for name, array in _arrays(model).items():
            a = np.asarray(array)
            blob = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
            sections.append([name, a.dtype.newbyteorder("<").str, list(a.shape), offset,
                             len(blob)])
            parts.append(blob)
            offset += len(blob)
        header = {
            "format": FORMAT, "blogrec": __version__, "model_id": self.model_id,
            "fingerprint": self.fingerprint, "method": model.name,
            "posts": int(model.model.knn.n_all_), "tags": len(model.vocab.keys),
            "params": {"k": model.k, "fields": list(model.fields),
                       "joint_fields": list(model.joint_fields),
                       "lsi_dims": model.lexicon.dims, "vocab_posts": model.vocab.n_posts,
                       "y_shape": list(model.model.y.shape)},
            "sections": sections,
        }
        return pack_checked(MAGIC, header, b"".join(parts))


# ---------------------------------------------------------------- reading


class Loaded(NamedTuple):
    """A saved model, or why there is none to use."""

    model: DraftModel | None
    reason: str | None  # None (loaded), "none", "changed", "encoder", "version", "corrupt"
    detail: str = ""

    @property
    def why(self) -> str:
        """One line: why no saved model was used."""
        return {
            "none": "none saved yet; `blogrec build` saves one",
            "changed": "the blog changed since the build that saved it",
            "encoder": f"the saved one is for the encoder {self.detail}",
            "version": f"the saved one was written by {self.detail}",
            "corrupt": f"the saved one is unreadable: {self.detail}",
        }.get(self.reason or "", "")


def load_tag_model(path: str | Path, fingerprint: str, model_id: str) -> Loaded:
    """The model saved at `path` when it was fitted on a blog of this `fingerprint` with
    this encoder (`model_id`) by this version of blogrec; else `Loaded(None, reason)`.
    Never raises on a bad file: it is logged and ignored."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Loaded(None, "none")
    except OSError as exc:
        log.warning("ignoring saved tag model %s: %s", path, exc)
        return Loaded(None, "corrupt", str(exc))
    if data.startswith(_MAGIC_ANY) and not data.startswith(MAGIC):
        found = data[len(_MAGIC_ANY):].split(b"\n", 1)[0].decode(errors="replace")[:20]
        log.warning("ignoring saved tag model %s: format %s, not %d", path, found, FORMAT)
        return Loaded(None, "version", f"another file format ({found})")
    try:
        header, payload = unpack_checked(data, MAGIC)
    except ValueError as exc:
        log.warning("ignoring saved tag model %s: %s", path, exc)
        return Loaded(None, "corrupt", str(exc))
    if header.get("format") != FORMAT or header.get("blogrec") != __version__:
        log.warning("ignoring saved tag model %s: written by blogrec %s (format %s)", path,
                    header.get("blogrec"), header.get("format"))
        return Loaded(None, "version", f"blogrec {header.get('blogrec')}")
    if header.get("model_id") != model_id:
        log.debug("saved tag model %s is for encoder %s", path, header.get("model_id"))
        return Loaded(None, "encoder", str(header.get("model_id")))
    if header.get("fingerprint") != fingerprint:
        log.debug("saved tag model %s is for another state of the blog", path)
        return Loaded(None, "changed")
    try:
        model = _decode(header, payload)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        log.warning("ignoring saved tag model %s: %s", path, exc)
        return Loaded(None, "corrupt", f"bad payload: {exc}")
    log.debug("loaded the saved tag model %s", path)
    return Loaded(model, None)


def _decode(header: dict[str, Any], payload: bytes) -> DraftModel:
    params = header["params"]
    arrays: dict[str, np.ndarray] = {}
    strings: dict[str, Any] = {}
    for name, dtype, shape, offset, length in header["sections"]:
        if offset < 0 or offset + length > len(payload):
            raise ValueError(f"section {name} outside the payload")
        if dtype == "json":
            strings = json.loads(payload[offset : offset + length].decode("utf-8"))
            continue
        count = int(np.prod(shape, dtype=np.int64))
        array = np.frombuffer(payload, dtype=np.dtype(dtype), count=count, offset=offset)
        if array.nbytes != length:
            raise ValueError(f"section {name}: {array.nbytes} bytes, not {length}")
        arrays[name] = array.reshape(shape)
    keys, display, terms = strings["keys"], strings["display"], strings["terms"]
    vocab = TagVocabulary(list(keys), list(display), arrays["vocab_counts"],
                          int(params["vocab_posts"]))
    y = sparse.csr_matrix((arrays["y_data"], arrays["y_indices"], arrays["y_indptr"]),
                          shape=tuple(params["y_shape"]))
    train = arrays["train"]
    ridge = Ridge()
    ridge.w_, ridge.mean_ = arrays["ridge_w"], arrays["ridge_mean"]
    ridge.zmean_ = None  # the tag model's ridge is not centred
    names = NameRates()
    names.rates_ = [arrays["rates_title"], arrays["rates_body"]]
    mean = MeanVector()
    mean.vectors_ = arrays["mean_vectors"]
    k = int(params["k"])
    # the kNN vote's and the prior's fitted values follow from the tags alone
    model = FoldModel(train=train, y=y, ridge=ridge,
                      knn=KnnVote(k).fit(train, y, int(header["posts"])),
                      prior=Prior().fit(y), names=names, mean=mean)
    fusion = None
    if "fusion" in arrays:
        fused = arrays["fusion"]
        fusion = (fused[:-1], float(fused[-1]))
    lexicon = Lexicon(list(terms), arrays.get("idf"), arrays["lsi_basis"],
                      int(params["lsi_dims"]))
    if len(keys) != int(header["tags"]) or ridge.w_.shape[1] != len(keys) \
            or lexicon.basis.shape[0] != len(terms) or len(display) != len(keys):
        raise ValueError("sections of inconsistent sizes")
    return DraftModel(str(header["method"]), vocab, model, fusion, k,
                      tuple(params["fields"]), tuple(params["joint_fields"]),
                      arrays["train_joint"], lexicon)


# ---------------------------------------------------------------- using it


def saved_suggestions(draft: str | Path, posts_dir: str | Path, cache_dir: str | Path,
                      namespace: str, encoder: Encoder, k: int = 5, settings: str = "",
                      folders: Sequence[str] = (".",)
                      ) -> tuple[dict[str, Any] | None, Loaded]:
    """`suggest_for_draft`'s result for `draft` from the tag model the last build of the
    blog in `posts_dir` saved in `cache_dir` ("model": "saved"), when it matches the
    blog and `encoder`; else (None, why not). The draft is embedded through the blog's
    embedding cache, and its vectors are kept there: the same draft again (or one whose
    title, lede and headings did not change) does not load the encoder."""
    loaded = load_tag_model(tag_model_path(cache_dir, namespace),
                            blog_fingerprint(posts_dir, settings, folders),
                            encoder.model_id)
    if loaded.model is None:
        return None, loaded
    cache = EmbeddingCache(cache_dir, encoder.model_id, namespace)

    def embed(texts: Sequence[str]) -> np.ndarray:
        return embed_texts(texts, encoder, cache)[0]

    result = loaded.model.suggest_for_draft(draft, embed, k)
    cache.save()  # only when the draft was encoded
    return result, loaded
