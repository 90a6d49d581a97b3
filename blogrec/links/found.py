"""A link as found in a body: its kind, target, anchor and offsets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

KINDS = ("inline", "reference", "html", "autolink", "bare", "ref", "liquid")


@dataclass(frozen=True)
class Link:
    """One link of a body. `start:end` is the whole construct (anchor and target)."""

    target: str  # the URL or reference as written, trimmed; template expressions reduced
    anchor: str  # plain text of the anchor ("" for bare URLs, autolinks, definitions)
    start: int
    end: int
    kind: str  # one of KINDS


class _Found(NamedTuple):
    """A link in source offsets; `definition` marks a reference definition line."""

    start: int
    end: int
    kind: str
    target: str
    anchor: str
    definition: bool = False

