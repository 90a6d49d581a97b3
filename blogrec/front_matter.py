"""Front matter as data, safely: YAML with no code run, no alias bombs, no stack blow-up,
and one bad value costing that value when it is a date; and Hugo's TOML front matter."""

from __future__ import annotations

import re
import sys
import traceback
from typing import Any

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class PostError(ValueError):
    """A file that cannot be used as a post; the message is the reason."""


MAX_FRONT_MATTER_CHARS = 256 * 1024


MAX_YAML_ALIASES = 100


MAX_YAML_DEPTH = 50


class _DuplicateKeyCheck:
    """Records duplicate mapping keys (YAML silently keeps the last one)."""

    duplicate_keys: list[str]

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    self.duplicate_keys.append(key_node.value)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)  # type: ignore[misc]


_CSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastLoader(_DuplicateKeyCheck, _CSafeLoader):  # type: ignore[misc,valid-type]
    """libyaml's safe loader: no custom tags, so no code runs."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys = []


class _BoundedLoader(_DuplicateKeyCheck, yaml.SafeLoader):
    """The pure-Python safe loader, which can count aliases as it composes: used only for
    front matter with anchors, so "billion laughs" documents fail fast."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys = []
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise PostError(f"front matter uses more than {MAX_YAML_ALIASES} YAML aliases")
        return super().compose_node(parent, index)


def max_flow_nesting(text: str) -> int:
    """The deepest nesting of YAML flow collections (`[`, `{`) in text, counted before
    parsing so that a deep document is refused instead of recursing. A stray closing
    bracket (in a quoted string) never counts below zero, so it cannot hide the depth
    of what follows it."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return deepest


class _FastTextDates(_FastLoader):
    """`_FastLoader` with timestamps left as text, for `parse_date` to judge."""


class _BoundedTextDates(_BoundedLoader):
    """`_BoundedLoader` with timestamps left as text."""


for _cls in (_FastTextDates, _BoundedTextDates):
    _cls.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def load_front_matter(fm: str) -> tuple[Any, list[str]]:
    """Parse YAML front matter safely; returns (data, duplicate keys).

    A value that scans but does not construct (`date: 2021-02-30`) fails the whole YAML
    document; when that is a timestamp, the front matter is read again with timestamps as
    text, so the bad date costs the date (`parse_date` then warns), not the post.
    """
    if max_flow_nesting(fm) > MAX_YAML_DEPTH:
        raise PostError(f"front matter is nested more than {MAX_YAML_DEPTH} levels deep")
    bounded = bool(re.search(r"&[^\s\]\[{},]", fm))
    try:
        return _load_with(_BoundedLoader if bounded else _FastLoader, fm)
    except _BadValue as exc:
        if not exc.timestamp:
            raise PostError(str(exc)) from None
        try:
            return _load_with(_BoundedTextDates if bounded else _FastTextDates, fm)
        except _BadValue as again:
            raise PostError(str(again)) from None


class _BadValue(Exception):
    """A YAML value that scans but does not construct; `timestamp`: from a date."""

    def __init__(self, message: str, timestamp: bool) -> None:
        super().__init__(message)
        self.timestamp = timestamp


def _load_with(loader_cls: type, fm: str) -> tuple[Any, list[str]]:
    try:
        # The pure-Python reader checks the characters already here: a control character
        # in front matter with an anchor raised a ReaderError past load_corpus.
        loader = loader_cls(fm)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise PostError(f"malformed YAML front matter: {detail[:300]}") from None
    try:
        return loader.get_single_data(), loader.duplicate_keys
    except (PostError, RecursionError):
        raise
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise PostError(f"malformed YAML front matter: {detail[:300]}") from None
    except Exception as exc:
        # The YAML constructors raise ValueError, TypeError, AttributeError, KeyError,
        # IndexError... for values that scan but do not construct (`date: 2021-02-30`,
        # `!!int abc`, `!!int ` empty, `!!timestamp x`, a 5,000-digit number): they
        # escaped load_corpus and stopped the whole build.
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        timestamp = any(f.name == "construct_yaml_timestamp"
                        for f in traceback.extract_tb(exc.__traceback__))
        raise _BadValue(f"malformed YAML front matter: bad value ({detail[:300]})",
                        timestamp) from None
    finally:
        loader.dispose()


_TOML_OPEN = re.compile(r"\+{3}[ \t]*\n")
_TOML_CLOSE = re.compile(r"^\+{3}[ \t]*$", re.M)


def split_toml_front_matter(text: str) -> tuple[str, str]:
    """(front matter, body) of a document that opens with a `+++` line: Hugo's TOML
    front matter, closed by the next `+++` line."""
    opening = _TOML_OPEN.match(text)
    if opening is None:
        raise PostError("no front matter (the '+++' line must be on its own)")
    closing = _TOML_CLOSE.search(text, opening.end())
    if closing is None:
        raise PostError("front matter never closes (no second '+++' line)")
    return text[opening.end():closing.start()], text[closing.end():].lstrip("\n")


def load_toml_front_matter(fm: str) -> dict[str, Any]:
    """Parse TOML front matter (`tomllib`: data only; a repeated key is an error in TOML,
    hence the post's)."""
    try:
        return tomllib.loads(fm)
    except tomllib.TOMLDecodeError as exc:
        raise PostError(f"malformed TOML front matter ({exc})") from None
