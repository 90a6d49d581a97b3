"""Files blogrec writes, written so that nothing is ever half-written.

Every file is written to a temporary file in the same directory, flushed to disk and
renamed over the old one, so a failed or killed run leaves the previous file intact.
Same input gives the same bytes: canonical JSON, floats rounded (`round_score`).
Caches (embeddings, tokens) are `ChecksummedFile`s: a magic line, a JSON header with
the payload's sha256, the payload; one that does not check out is rebuilt, never used.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCORE_DIGITS = 4


# A run killed (SIGKILL, power loss) between staging and renaming leaves its
# `.NAME.*.tmp` files behind and nothing removed them: every such run left another copy
# of the outputs. Writers remove these leftovers once they are clearly not a live
# writer's (older than this), just before staging their own.
STALE_TMP_SECONDS = 3600.0


def remove_stale_temps(target: Path) -> None:
    """Delete `.{target.name}.*.tmp` siblings older than STALE_TMP_SECONDS."""
    cutoff = time.time() - STALE_TMP_SECONDS
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        try:
            if leftover.is_file() and not leftover.is_symlink() \
                    and leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass


def pack_checked(magic: bytes, header: dict[str, Any], payload: bytes) -> bytes:
    """A cache file: magic line, JSON header line with the payload's sha256, payload."""
    header = {**header, "sha256": hashlib.sha256(payload).hexdigest()}
    return magic + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def unpack_checked(data: bytes, magic: bytes) -> tuple[dict[str, Any], bytes]:
    """(header, payload) of a `pack_checked` file; ValueError if anything does not check
    out (another format, truncated, corrupt), so the caller can rebuild."""
    if not data.startswith(magic):
        raise ValueError(f"not a {magic.decode(errors='replace').split()[0]} file")
    try:
        end = data.index(b"\n", len(magic))
        header = json.loads(data[len(magic) : end])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"unreadable header ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError("unreadable header")
    payload = data[end + 1 :]
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise ValueError("checksum mismatch (truncated or corrupt)")
    return header, payload


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write data to path so that readers see the old file or the new one, never a mix."""
    with OutputBatch() as batch:
        batch.add(path, data)
        batch.commit()


class OutputBatch:
    """Stage several output files, then put them all in place at once.

    Every file is first written in full to a temporary file beside its target and
    synced; only when all of them are staged are they renamed over their targets, one
    rename each. A run that fails or is killed before `commit` leaves every previous
    file untouched; one killed during the renames leaves each file either old or new,
    never half-written.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[str, Path]] = []

    def add(self, path: str | os.PathLike[str], data: bytes) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
        except BaseException:
            _unlink(tmp)
            raise
        self._staged.append((tmp, target))

    def add_json(self, path: str | os.PathLike[str], data: Any) -> None:
        self.add(path, dumps(data))

    def commit(self) -> list[str]:
        done = []
        for tmp, target in self._staged:
            os.replace(tmp, target)
            done.append(str(target))
        self._staged = []
        return done

    def discard(self) -> None:
        for tmp, _ in self._staged:
            _unlink(tmp)
        self._staged = []

    def __enter__(self) -> OutputBatch:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        # Only an exception reaches here with files still staged: drop them.
        self.discard()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def dumps(data: Any) -> bytes:
    """Canonical JSON: UTF-8, 2-space indent, trailing newline."""
    return (json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode()


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> None:
    atomic_write_bytes(path, dumps(data))


def round_score(x: float) -> float:
    # -0.0 and 0.0 must print alike for byte-identical output.
    return float(round(float(x), SCORE_DIGITS)) + 0.0


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def cache_file_name(kind: str, namespace: str | None, suffix: str) -> str:
    """`<kind, filesystem-safe>-<12 hex digits of kind + namespace><suffix>`."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in kind)[:80]
    ident = kind if namespace is None else f"{kind}\0{namespace}"
    return f"{safe}-{hashlib.sha256(ident.encode()).hexdigest()[:12]}{suffix}"


class ChecksummedFile:
    """Base of the on-disk caches: `path`, `_decode` and `_encode` by the subclass.

    Reading never fails: a missing file is an empty cache; an unreadable one, one of
    another format or version, or one whose checksum fails is logged, ignored and
    rewritten at the next `save`.
    """

    magic: bytes = b""
    kind = "cache"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._dirty = False

    def _decode(self, header: dict[str, Any], payload: bytes) -> None:
        raise NotImplementedError

    def _encode(self) -> tuple[dict[str, Any], bytes]:
        raise NotImplementedError

    def _read(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("%s %s unreadable (%s); rebuilding", self.kind, self.path, exc)
            return
        try:
            header, payload = unpack_checked(data, self.magic)
            self._decode(header, payload)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring %s %s: %s; it will be rebuilt", self.kind, self.path, exc)
            self._forget()
            self._dirty = True

    def _forget(self) -> None:
        """Drop whatever a failed `_decode` left behind."""

    def save(self) -> None:
        """Write the file (atomically) if anything changed since it was read."""
        if not self._dirty:
            return
        header, payload = self._encode()
        atomic_write_bytes(self.path, pack_checked(self.magic, header, payload))
        self._dirty = False


class EntryCache(ChecksummedFile):
    """A cache of values computed from string keys, in one checksummed JSON file: what
    `get` computed once is read back by the next run. `ident` names the code that
    computed the values; a file made by another one is not used (quietly recomputed).
    `save` keeps only the entries this run used, so the file does not grow; `misses`
    counts the values this run had to compute. Subclasses set `magic`, `kind`, and turn
    values into JSON and back (`_dump`, `_load`)."""

    def __init__(self, path: Path, ident: str) -> None:
        super().__init__(path)
        self.ident = ident
        self.entries: dict[str, Any] = {}
        self.used: set[str] = set()
        self.misses = 0
        self._read()

    def _dump(self, value: Any) -> Any:
        return value

    def _load(self, value: Any) -> Any:
        return value

    def _decode(self, header: dict[str, Any], payload: bytes) -> None:
        if header.get("ident") != self.ident:
            self._dirty = True  # made by another version: recomputed, quietly
            return
        self.entries = {str(k): self._load(v) for k, v in json.loads(payload).items()}

    def _forget(self) -> None:
        self.entries = {}

    def _encode(self) -> tuple[dict[str, Any], bytes]:
        table = {k: self._dump(v) for k, v in sorted(self.entries.items())}
        payload = json.dumps(table, ensure_ascii=False, sort_keys=True).encode()
        return {"ident": self.ident, "count": len(table)}, payload

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        """The value of `key`, from the file when a run computed it before, else
        `compute()` (an exception propagates, and nothing is stored)."""
        self.used.add(key)
        if key not in self.entries:
            self.entries[key] = compute()
            self.misses += 1
            self._dirty = True
        return self.entries[key]

    def save(self) -> None:
        """Write the file if anything changed, without the entries no run used since it
        was read."""
        stale = [key for key in self.entries if key not in self.used]
        for key in stale:
            del self.entries[key]
        self._dirty = self._dirty or bool(stale)
        super().save()

