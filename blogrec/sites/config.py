"""Reading a generator's config as data: TOML, YAML (safe, bounded) and JSON, with a
warning naming the file and the reason for whatever cannot be used."""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from ..front_matter import MAX_YAML_ALIASES, MAX_YAML_DEPTH, max_flow_nesting, tomllib
from ..urls import url_problem
from .site import (
    MARKDOWN_SUFFIXES,
    MAX_CONFIG_BYTES,
    MAX_CONFIG_DEPTH,
    MAX_CONFIG_VALUES,
    _CSafeLoader,
)


class _ConfigError(Exception):
    """A config file that cannot be used; the message is the reason."""


def _read_text(root: Path, rel: str) -> str:
    """The file's text, read only if it is a regular file of at most MAX_CONFIG_BYTES."""
    try:
        # O_NONBLOCK: opening a FIFO named like a config must not hang; fstat (after any
        # symlink) then refuses everything but a regular file, such as /dev/zero.
        fd = os.open(root / rel, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _ConfigError("not a regular file; not read")
            if info.st_size > MAX_CONFIG_BYTES:
                raise _ConfigError(f"larger than 2 MB ({info.st_size} bytes); not read")
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise _ConfigError(f"cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_CONFIG_BYTES:  # it grew after fstat
        raise _ConfigError("larger than 2 MB; not read")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _ConfigError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                           f"{exc.start})") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).replace(' in "<unicode string>",', " at")
    return text[:300] or type(exc).__name__


_ANCHOR = re.compile(r"&[^\s\]\[{},]")


def _load_yaml(text: str) -> Any:
    if max_flow_nesting(text) > MAX_YAML_DEPTH:
        raise _ConfigError(f"cannot parse (nested more than {MAX_YAML_DEPTH} levels deep)")
    if _ANCHOR.search(text):
        # safe_load shares aliased nodes, so a "billion laughs" file loads in no time but
        # explodes when walked: count the aliases with libyaml's event parser first.
        aliases = 0
        loader = _CSafeLoader(text)
        try:
            while loader.check_event():
                if isinstance(loader.get_event(), yaml.AliasEvent):
                    aliases += 1
                    if aliases > MAX_YAML_ALIASES:
                        raise _ConfigError(f"uses more than {MAX_YAML_ALIASES} YAML aliases; "
                                           f"not read")
        except yaml.YAMLError as exc:
            raise _ConfigError(f"cannot parse ({_one_line(exc)})") from None
        finally:
            loader.dispose()
    return yaml.load(text, Loader=_CSafeLoader)


def _parse(text: str, rel: str) -> Any:
    """Parse a config by its extension; _ConfigError with the parser's reason if it fails."""
    ext = rel.rsplit(".", 1)[-1].lower()
    try:
        if ext == "toml":
            return tomllib.loads(text)
        if ext == "json":
            return json.loads(text)
        return _load_yaml(text)
    except _ConfigError:
        raise
    except Exception as exc:
        # tomllib, json and the YAML constructors raise many types (TOMLDecodeError,
        # ValueError for a bad date, RecursionError for deep nesting, ConstructorError
        # for `!!python/object`): all are "cannot parse".
        raise _ConfigError(f"cannot parse ({_one_line(exc)})") from None


def _plain(value: Any, *, lower_keys: bool) -> Any:
    """A bounded copy of parsed data (str keys, optionally lowercased); _ConfigError when
    it is too deep, cyclic (a YAML alias to itself) or too large once aliases expand."""
    budget = [MAX_CONFIG_VALUES]

    def walk(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise _ConfigError(f"cannot parse (more than {MAX_CONFIG_VALUES} values, "
                               f"counting YAML aliases expanded)")
        if depth > MAX_CONFIG_DEPTH:
            raise _ConfigError(f"cannot parse (nested more than {MAX_CONFIG_DEPTH} levels "
                               f"deep, or an alias refers to itself)")
        if isinstance(v, dict):
            out = {}
            for k, item in v.items():
                key = k if isinstance(k, str) else str(k)
                out[key.lower() if lower_keys else key] = walk(item, depth + 1)
            return out
        if isinstance(v, (list, tuple)):
            return [walk(item, depth + 1) for item in v]
        return v

    return walk(value, 0)


def _load_config(root: Path, rel: str, *, lower_keys: bool = False) -> dict[str, Any]:
    data = _plain(_parse(_read_text(root, rel), rel), lower_keys=lower_keys)
    if data is None:  # an empty file is a valid, empty config
        return {}
    if not isinstance(data, dict):
        raise _ConfigError(f"the top level is {_kind(data)}, not a mapping of keys to values")
    return data


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (dt.date, dt.time)):
        return "a date"
    if value is None:
        return "empty"
    return type(value).__name__


class _Values:
    """Typed reads from one merged config; a value of the wrong type is a warning naming
    the file it came from, and the default is used."""

    def __init__(self, data: dict[str, Any], origin: dict[str, str], warnings: list[str],
                 fallback_file: str) -> None:
        self.data = data
        self.origin = origin
        self.warnings = warnings
        self.fallback_file = fallback_file

    def file(self, key: str) -> str:
        return self.origin.get(key.split(".", 1)[0], self.fallback_file)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.file(key.lower())}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], shown: str) -> Any:
        """data[key] if it has the type `kind`, else None (with a warning if present)."""
        value = self.data.get(key)
        if value is None:
            return None
        kinds = _as_tuple(kind)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            want = " or ".join(_WANTED.get(k, k.__name__) for k in kinds)
            self.warn(key, f"{shown} is {_kind(value)}, not {want}; ignored")
            return None
        return value


_WANTED = {str: "a string", dict: "a table", list: "a list", int: "a number",
           bool: "true/false"}


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    """Deep merge: tables merge key by key, any other value replaces (Hugo's config dir)."""
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _is_file(root: Path, rel: str) -> bool:
    """Present and not a folder: a FIFO or a dangling link named like a config is found,
    then refused by `_read_text` with a warning, rather than silently skipped."""
    path = root / rel
    return os.path.lexists(path) and not path.is_dir()


def _is_dir(root: Path, rel: str) -> bool:
    return (root / rel).is_dir()


def _safe_rel_dir(value: str) -> str | None:
    """A folder inside the root as a normalised POSIX path, or None if it leaves it."""
    text = value.replace("\\", "/").strip()
    if not text or text.startswith("/") or re.match(r"[A-Za-z]:", text):
        return None
    norm = posixpath.normpath(text)
    if norm == ".." or norm.startswith("../"):
        return None
    return norm


def _join_base(url: str | None, path: str | None) -> str | None:
    """`url` + `path` (Jekyll url+baseurl, Astro site+base) without a trailing slash."""
    base = (url or "").strip().rstrip("/")
    sub = (path or "").strip().strip("/")
    joined = f"{base}/{sub}" if sub else base
    return joined or None


def _checked_base_url(value: str | None, file: str, key: str,
                      warnings: list[str]) -> str | None:
    if not value:
        return None
    problem = url_problem(value)
    if problem is not None:
        warnings.append(f"{file}: {key} is not a URL blogrec writes ({problem}); ignored")
        return None
    return value


def _markdown_under(folder: Path, *, limit: int = 10_000) -> bool:
    """True if the folder holds a Markdown file at any depth (a bounded walk)."""
    seen = 0
    for _dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            if name.lower().endswith(MARKDOWN_SUFFIXES):
                return True
        seen += len(filenames)
        if seen > limit:
            return False
    return False


def _package_json(root: Path, warnings: list[str]) -> dict[str, Any] | None:
    """package.json as a mapping, or None if absent or unusable (with a warning)."""
    if not _is_file(root, "package.json"):
        return None
    try:
        return _load_config(root, "package.json")
    except _ConfigError as exc:
        warnings.append(f"package.json: {exc}; ignored")
        return None


def _depends_on(package: dict[str, Any] | None, name: str) -> bool:
    if package is None:
        return False
    for key in ("dependencies", "devDependencies"):
        deps = package.get(key)
        if isinstance(deps, dict) and name in deps:
            return True
    return False


def _text_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


