"""Template expressions (Hugo shortcodes, Liquid tags) read before the Markdown, and
the source text they leave, with the same offsets."""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import NamedTuple

from .found import _Found

_FILL = "x"
# Classes exclude braces and newlines: a scan from an opener stops at the next opener, so
# 100,000 unclosed `{{< ref "` are read in one pass.
_TEMPLATE = re.compile(
    r"\{\{(?:<(?P<shortcode>[^{}\n]*?)>|%(?P<md_shortcode>[^{}\n]*?)%)\}\}"
    r"|\{%(?P<tag>[^{}\n]*?)%\}"
    r"|\{\{(?P<output>[^{}\n]*?)\}\}"
)
_SITE = r"site\.(?:baseurl|url|github\.url)"
_SITE_PREFIX = re.compile(rf"{_SITE}(?:\s*\|\s*(?:append|prepend)\s*:\s*{_SITE})*")
_URL_FILTERED = re.compile(
    rf"""(?:"([^"]*)"|'([^']*)')"""
    rf"(?:\s*\|\s*(?:relative_url|absolute_url|url|prepend\s*:\s*{_SITE}))+"
)
_TEMPLATE_ARG = re.compile(r"""(?:(\w+)\s*=\s*)?(?:"([^"]*)"|'([^']*)'|`([^`]*)`|([^\s"'`]+))""")
_LINK_TAGS = ("post_url", "link", "post_link")
# Blocks whose text is code or dropped: links inside them are not links.
_CODE_TAGS = {"highlight": "endhighlight", "comment": "endcomment"}


class _Template(NamedTuple):
    start: int
    end: int
    kind: str  # "ref" (Hugo ref/relref), "liquid" (post_url, link, post_link), "site"
    reduced: str  # what stands for it in a target: itself, or a path ("" for site.baseurl)
    anchor: str  # a Hexo post_link's title


def _words(text: str) -> list[str]:
    return text.strip().strip("-").strip().split(None, 1)


def _template_args(text: str) -> list[tuple[str | None, str]]:
    """(name or None, value) of a template's arguments, quotes removed."""
    out: list[tuple[str | None, str]] = []
    for m in _TEMPLATE_ARG.finditer(text):
        value = next(g for g in m.groups()[1:] if g is not None)
        out.append((m[1], value))
    return out


def _shortcode(m: re.Match[str]) -> str | None:
    """The inside of a Hugo shortcode `{{< x >}}` / `{{% x %}}`, or None."""
    return m["shortcode"] if m["shortcode"] is not None else m["md_shortcode"]


def _read_template(m: re.Match[str]) -> _Template | None:
    """What a template expression means for links, or None when it means nothing."""
    if (shortcode := _shortcode(m)) is not None:
        words = _words(shortcode)
        if len(words) == 2 and words[0] in ("ref", "relref"):
            return _Template(m.start(), m.end(), "ref", m[0].strip(), "")
        return None
    if m["tag"] is not None:
        words = _words(m["tag"])
        if len(words) == 2 and words[0] in _LINK_TAGS:
            anchor = ""
            if words[0] == "post_link":
                args = [value for _, value in _template_args(words[1])][1:]
                if args and args[-1] in ("true", "false"):
                    args.pop()
                anchor = " ".join(" ".join(args).split())
            return _Template(m.start(), m.end(), "liquid", m[0].strip(), anchor)
        return None
    expr = m["output"].strip().strip("-").strip()
    if _SITE_PREFIX.fullmatch(expr):
        return _Template(m.start(), m.end(), "site", "", "")
    if f := _URL_FILTERED.fullmatch(expr):
        return _Template(m.start(), m.end(), "site", f[1] if f[1] is not None else f[2], "")
    return None


def _template_call(text: str) -> tuple[str, str] | None:
    """(name, path argument) of the first ref/relref/post_url/link/post_link in `text`."""
    for m in _TEMPLATE.finditer(text):
        if _read_template(m) is None or m["output"] is not None:
            continue
        inner = _shortcode(m)
        name, rest = _words(inner if inner is not None else m["tag"])
        args = _template_args(rest)
        named = [value for key, value in args if key == "path"]
        positional = [value for key, value in args if key is None]
        path = (named or positional or [""])[0]
        return name, path
    return None


def _scan_templates(src: str) -> tuple[list[_Template], list[tuple[int, int]]]:
    """The link templates of a body, and the ranges of its highlight/comment blocks."""
    found: list[_Template] = []
    blocks: list[tuple[int, int]] = []
    open_block: tuple[str, int] | None = None
    for m in _TEMPLATE.finditer(src):
        inner = _shortcode(m)
        inner = inner if inner is not None else m["tag"]
        if inner is not None:
            words = _words(inner)
            name = words[0].lower() if words else ""
            if open_block is None and name in _CODE_TAGS:
                open_block = (_CODE_TAGS[name], m.start())
            elif open_block is not None and name in (open_block[0], "/highlight"):
                blocks.append((open_block[1], m.end()))
                open_block = None
        if open_block is None and (t := _read_template(m)) is not None:
            found.append(t)
    return found, blocks


_FOOTNOTE = re.compile(r"^( {0,3})(\[\^[^\[\]\s]+\]:)", re.MULTILINE)


class _Source:
    """A body prepared for scanning: line ends normalised as markdown-it does, templates."""

    def __init__(self, body: str) -> None:
        # markdown-it turns CRLF and CR into LF and NUL into U+FFFD; offsets into the body
        # are recovered through the positions where a CRLF became one character.
        self.crlf = [m.start() - k for k, m in enumerate(re.finditer("\r\n", body))]
        src = body.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
        self.src = src
        self.templates, self.code_blocks = _scan_templates(src)
        self._starts = [t.start for t in self.templates]
        pieces: list[str] = []
        pos = 0
        for t in self.templates:
            pieces += [src[pos : t.start], _FILL * (t.end - t.start)]
            pos = t.end
        pieces.append(src[pos:])
        # What the parsers read. A footnote's `[^id]:` (Hugo, Jekyll and Hexo render them)
        # is not a link definition: filled, its text reads as a paragraph, links included.
        self.filled = _FOOTNOTE.sub(lambda m: m[1] + _FILL * len(m[2]), "".join(pieces))
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", src)]

    def body_offset(self, pos: int) -> int:
        return pos + bisect_left(self.crlf, pos)

    def line_end(self, line: int) -> int:
        if line + 1 < len(self.line_starts):
            return self.line_starts[line + 1] - 1
        return len(self.src)

    def reduce(self, start: int, end: int) -> str:
        """The source text of start:end with the templates in it reduced."""
        i = bisect_left(self._starts, start)
        pieces: list[str] = []
        pos = start
        while i < len(self.templates) and self.templates[i].start < end:
            t = self.templates[i]
            if t.end <= end:
                pieces += [self.src[pos : t.start], t.reduced]
                pos = t.end
            i += 1
        pieces.append(self.src[pos:end])
        return "".join(pieces).strip()

    def standalone(self, free: list[tuple[int, int]]) -> list[_Found]:
        """Ref and link templates lying in free text (not inside a link, tag or code)."""
        found: list[_Found] = []
        free.sort()
        ends = [b for _, b in free]
        for t in self.templates:
            if t.kind == "site":
                continue
            i = bisect_left(ends, t.end)
            if i < len(free) and free[i][0] <= t.start:
                found.append(_Found(t.start, t.end, t.kind, t.reduced, t.anchor))
        return found

