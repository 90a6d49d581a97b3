"""The line-and-regex scanner for bodies too costly for markdown-it (see the package
docstring): the same kinds of links, CommonMark's corner cases approximated."""

from __future__ import annotations

import html
import re

from markdown_it.common.utils import normalizeReference

from ..markup import outside_fences, strip_inline
from .found import _Found
from .html import _A_CLOSE, _A_OPEN, _bare_links, _complement, _href_span, _html_text
from .markdown import _destination
from .templates import _FILL, _Source

_FB_DEST = r"(?:<[^<>\n]*>|[^\s()<>]*)"
_FB_TITLE = r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?"""
# Every class excludes the brackets that open the next construct, so a scan from one opener
# stops at the next (see markup._INLINE_RULES).
_FB_LINKS = (
    rf"(?P<badge>\[(?P<blabel>!\[[^\[\]]*\]\([^()\s]*{_FB_TITLE}\s*\))\]"
    rf"\(\s*(?P<bdest>{_FB_DEST}){_FB_TITLE}\s*\))"
    r"|(?P<image>!\[[^\[\]]*\](?:\([^()]*\)|\[[^\[\]]*\])?)"
    rf"|(?P<inline>\[(?P<ilabel>[^\[\]]*)\]\(\s*(?P<idest>{_FB_DEST}){_FB_TITLE}\s*\))"
)
_FB_REFERENCES = (
    r"|(?P<full>\[(?P<flabel>[^\[\]]*)\]\[(?P<fref>[^\[\]]*)\])"
    r"|(?P<short>\[(?P<slabel>[^\[\]]+)\])"
)
_FB_HTML = (
    r"|(?P<auto><[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^<>\x00-\x20]*>)"
    r"|(?P<email><[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+>)"
    r"|(?P<tag><[A-Za-z/][^<>]*>)"
)
# Without definitions, `[x]` is never a link: the scan need not stop at each bracket pair.
_FALLBACK = re.compile(rf"(?=[\[!<])(?:{_FB_LINKS}{_FB_REFERENCES}{_FB_HTML})")
_FALLBACK_NO_REFERENCES = re.compile(rf"(?=[\[!<])(?:{_FB_LINKS}{_FB_HTML})")
_FB_DEFINITION = re.compile(
    r" {0,3}\[((?:[^\[\]\\]|\\.)+)\]:[ \t]*(<[^<>\n]*>|\S+)"
    r"""(?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*$"""
)
_BACKTICKS = re.compile(r"`+")


def _blank(text: str) -> str:
    """Spaces in place of `text`, newlines kept (offsets do not move)."""
    return "\n".join(" " * len(line) for line in text.split("\n"))


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    pos = 0
    for a, b in spans:
        pieces += [text[pos:a], _blank(text[a:b])]
        pos = b
    pieces.append(text[pos:])
    return "".join(pieces)


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Backtick code spans: each run closed by the next run of the same length."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for k, (a, b) in enumerate(runs):
        by_length.setdefault(b - a, []).append(k)
    cursor = dict.fromkeys(by_length, 0)
    spans: list[tuple[int, int]] = []
    done = 0  # end of the last code span
    for k, (a, b) in enumerate(runs):
        if a < done:
            continue
        same = by_length[b - a]
        i = cursor[b - a]
        while i < len(same) and same[i] <= k:
            i += 1
        cursor[b - a] = i
        if i < len(same):
            done = runs[same[i]][1]
            spans.append((a, done))
    return spans


def _comments(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    while (i := text.find("<!--", pos)) >= 0:
        j = text.find("-->", i + 4)
        if j < 0:
            break
        spans.append((i, j + 3))
        pos = j + 3
    return spans


def _fallback_blocks(source: _Source) -> tuple[str, list[_Found], dict[str, str]]:
    """The text with code blocks and definition lines blanked, and the definitions."""
    lines = source.filled.split("\n")
    kept: list[str] = []
    found: list[_Found] = []
    definitions: dict[str, str] = {}
    previous_blank = True
    in_indented = False
    for i, line in outside_fences(lines):
        ls = source.line_starts[i]
        if line is None:
            kept.append(" " * len(lines[i]))
            previous_blank, in_indented = False, False
            continue
        indented = line.startswith(("    ", "\t"))
        if indented and (previous_blank or in_indented) and line.strip():
            kept.append(" " * len(line))
            in_indented = True
            continue
        in_indented = in_indented and not line.strip()
        previous_blank = not line.strip()
        m = _FB_DEFINITION.match(line) if "]:" in line else None
        if m:
            target = _destination(source, ls + m.start(2), ls + m.end(2))
            found.append(_Found(ls + m.start(1) - 1, ls + len(line), "reference", target, "",
                                definition=True))
            definitions.setdefault(normalizeReference(m[1]), target)
            kept.append(" " * len(line))
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = _mask_spans(text, _comments(text))
    return _mask_spans(text, _code_spans(text)), found, definitions


def _scan_fallback(source: _Source) -> list[_Found]:
    text, found, definitions = _fallback_blocks(source)
    src = source.src
    covered: list[tuple[int, int]] = []
    opened: tuple[int, int, tuple[int, int] | None] | None = None

    def close(tag: tuple[int, int, tuple[int, int] | None], end: int, anchor: str) -> None:
        start, _open_end, href = tag
        if href is not None:
            target = html.unescape(source.reduce(*href))
            found.append(_Found(start, end, "html", target, anchor))
            covered.append((start, end))

    def reference(m: re.Match[str], label: str, anchor_group: str) -> bool:
        target = definitions.get(normalizeReference(label))
        if target is None:
            return False
        anchor = strip_inline(src[m.start(anchor_group) : m.end(anchor_group)])
        found.append(_Found(m.start(), m.end(), "reference", target, anchor))
        covered.append(m.span())
        return True

    scanner = _FALLBACK if definitions else _FALLBACK_NO_REFERENCES
    pos = 0
    while m := scanner.search(text, pos):
        pos = m.end()
        kind = m.lastgroup
        if kind in ("badge", "inline"):
            group, label = ("bdest", "blabel") if kind == "badge" else ("idest", "ilabel")
            target = _destination(source, m.start(group), m.end(group))
            anchor = strip_inline(src[m.start(label) : m.end(label)])
            found.append(_Found(m.start(), m.end(), "inline", target, anchor))
            covered.append(m.span())
        elif kind == "image":
            covered.append(m.span())
        elif kind == "full":
            if not reference(m, m["fref"] or m["flabel"], "flabel"):
                # `[a][b]` with b undefined: `[a]` alone may still be a shortcut.
                short = _FALLBACK.match(text, m.start(), m.start("fref") - 1)
                if not (m["fref"] and short and short.lastgroup == "short"
                        and reference(short, short["slabel"], "slabel")):
                    pos = m.start() + 1
                else:
                    pos = short.end()
        elif kind == "short" and not reference(m, m["slabel"], "slabel"):
            pos = m.start() + 1
        elif kind in ("auto", "email"):
            raw = source.reduce(m.start() + 1, m.end() - 1)
            target = raw if kind == "auto" else f"mailto:{raw}"
            found.append(_Found(m.start(), m.end(), "autolink", target, ""))
            covered.append(m.span())
        elif kind == "tag":
            covered.append(m.span())
            tag = m[0]
            if _A_OPEN.match(tag):
                if opened is not None:
                    close(opened, opened[1], "")
                span = _href_span(tag)
                opened = (m.start(), m.end(),
                          None if span is None else (m.start() + span[0], m.start() + span[1]))
            elif _A_CLOSE.fullmatch(tag) and opened is not None:
                close(opened, m.end(), _html_text(src[opened[1] : m.start()]))
                opened = None
    if opened is not None:
        close(opened, opened[1], "")
    segments = _complement(covered, 0, len(text))
    found += _bare_links(source, text, segments)
    # A template blanked with its code block is no longer filler: only the others count.
    return found + [f for f in source.standalone(segments) if text[f.start] == _FILL]

