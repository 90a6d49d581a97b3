"""Links as markdown-it-py (CommonMark, linear time) finds them: inline, reference,
autolinks, and the raw HTML and bare URLs between them."""

from __future__ import annotations

import html
from bisect import bisect_right
from functools import cache

from markdown_it import MarkdownIt, rules_inline
from markdown_it.common.utils import normalizeReference, unescapeAll
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from .found import _Found
from .html import _A_CLOSE, _A_OPEN, _SCHEME, _bare_links, _complement, _href_span, _scan_html
from .templates import _Source

_ENV_KEY = "blogrec_links"


class _Recorder:
    """What the inline rules saw in one inline token's content (content offsets)."""

    __slots__ = ("src", "links", "masks", "autolinks", "tags")

    def __init__(self, src: str) -> None:
        self.src = src
        # start, end, destination span (inline links) or None, label (reference), link_open
        self.links: list[tuple[int, int, tuple[int, int] | None, str | None, Token]] = []
        self.masks: list[tuple[int, int]] = []  # images and code spans: never links
        self.autolinks: list[tuple[int, int]] = []
        self.tags: list[tuple[int, int, Token]] = []  # raw HTML, comments included


def _recorder(state: StateInline, silent: bool) -> _Recorder | None:
    """The recorder, unless in lookahead or in a nested parse (an image's alt text)."""
    rec = state.env.get(_ENV_KEY)
    if silent or rec is None or state.src is not rec.src:
        return None
    return rec


def _skip_space(src: str, pos: int, maximum: int) -> int:
    while pos < maximum and src[pos] in " \t\n":
        pos += 1
    return pos


def _link_rule(state: StateInline, silent: bool) -> bool:
    """markdown-it's `link` rule (CommonMark links), also recording where the link and its
    destination are and which reference it uses."""
    src = state.src
    if src[state.pos] != "[":
        return False
    old_pos = state.pos
    maximum = state.posMax
    helpers = state.md.helpers
    label_start = old_pos + 1
    label_end = helpers.parseLinkLabel(state, old_pos, True)
    if label_end < 0:
        return False
    href, title, label = "", "", None
    dest: tuple[int, int] | None = None
    pos = label_end + 1
    parse_reference = True
    if pos < maximum and src[pos] == "(":
        parse_reference = False
        pos = _skip_space(src, pos + 1, maximum)
        if pos >= maximum:
            return False
        res = helpers.parseLinkDestination(src, pos, maximum)
        if res.ok:
            href = state.md.normalizeLink(res.str)
            if state.md.validateLink(href):
                dest = (pos, res.pos)
                pos = res.pos
            else:
                href = ""
            start = pos
            pos = _skip_space(src, pos, maximum)
            res = helpers.parseLinkTitle(src, pos, maximum)
            if pos < maximum and start != pos and res.ok:
                title = res.str
                pos = _skip_space(src, res.pos, maximum)
        if pos >= maximum or src[pos] != ")":
            parse_reference = True
            dest = None
        pos += 1
    if parse_reference:
        if "references" not in state.env:
            return False
        if pos < maximum and src[pos] == "[":
            start = pos + 1
            pos = helpers.parseLinkLabel(state, pos)
            if pos >= 0:
                label = src[start:pos]
                pos += 1
            else:
                pos = label_end + 1
        else:
            pos = label_end + 1
        if not label:
            label = src[label_start:label_end]
        label = normalizeReference(label)
        ref = state.env["references"].get(label)
        if not ref:
            state.pos = old_pos
            return False
        href, title = ref["href"], ref["title"]
    if not silent:
        state.pos, state.posMax = label_start, label_end
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": href}
        if title:
            token.attrSet("title", title)
        state.linkLevel += 1
        state.md.inline.tokenize(state)
        state.linkLevel -= 1
        state.push("link_close", "a", -1)
        rec = _recorder(state, silent)
        if rec is not None:
            rec.links.append((old_pos, pos, dest, label if parse_reference else None, token))
    state.pos, state.posMax = pos, maximum
    return True


def _image_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if not rules_inline.image(state, silent):
        return False
    if (rec := _recorder(state, silent)) is not None:
        rec.masks.append((start, state.pos))
    return True


def _backtick_rule(state: StateInline, silent: bool) -> bool:
    start, count = state.pos, len(state.tokens)
    if not rules_inline.backtick(state, silent):
        return False
    rec = _recorder(state, silent)
    if rec is not None and len(state.tokens) > count and state.tokens[-1].type == "code_inline":
        rec.masks.append((start, state.pos))
    return True


def _autolink_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if not rules_inline.autolink(state, silent):
        return False
    if (rec := _recorder(state, silent)) is not None:
        rec.autolinks.append((start, state.pos))
    return True


def _html_inline_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if not rules_inline.html_inline(state, silent):
        return False
    if (rec := _recorder(state, silent)) is not None:
        rec.tags.append((start, state.pos, state.tokens[-1]))
    return True


@cache
def _markdown() -> MarkdownIt:
    """CommonMark with raw HTML; definitions kept as tokens; inline parsing done by hand."""
    md = MarkdownIt("commonmark", {"html": True, "inline_definitions": True})
    md.core.ruler.disable(["inline", "text_join"])
    for name, rule in (("link", _link_rule), ("image", _image_rule),
                       ("backticks", _backtick_rule), ("autolink", _autolink_rule),
                       ("html_inline", _html_inline_rule)):
        md.inline.ruler.at(name, rule)
    return md


class _ContentMap:
    """Offsets in an inline token's content -> source offsets. Each content line is the end
    of its source line (container markers such as `> ` and list indentation removed); a
    heading's is inside it."""

    __slots__ = ("_starts", "_shifts")

    def __init__(self, content: str, first_line: int, source: _Source) -> None:
        self._starts: list[int] = []
        self._shifts: list[int] = []
        text = source.filled
        last_line = len(source.line_starts) - 1
        offset = 0
        for j, piece in enumerate(content.split("\n")):
            line = min(first_line + j, last_line)
            ls, le = source.line_starts[line], source.line_end(line)
            self._starts.append(offset)
            self._shifts.append(_align(piece, text[ls:le], ls) - offset)
            offset += len(piece) + 1

    def start(self, pos: int) -> int:
        return pos + self._shifts[bisect_right(self._starts, pos) - 1]

    def end(self, pos: int) -> int:
        return self.start(pos - 1) + 1 if pos > 0 else self.start(0)


def _align(piece: str, line: str, line_start: int) -> int:
    """Source offset of a content line's first character within its source line."""
    stripped = line.rstrip()
    core = piece.lstrip(" ")
    lead = len(piece) - len(core)  # spaces a partly consumed tab turned into
    for text, pad in ((piece, 0), (core, lead)):
        if not text:
            continue
        for candidate in (line, stripped):
            if candidate.endswith(text):
                return line_start + len(candidate) - len(text) - pad
        i = line.find(text)  # a heading's text (find is linear; rfind is not)
        if i >= 0:
            return line_start + i - pad
    return line_start + max(0, len(line) - len(piece))


def _anchor_text(tokens: list[Token], first: int, stop: Token | None = None) -> str:
    """Plain text of the tokens after `first` up to its link_close (or `stop`)."""
    depth = 0
    parts: list[str] = []
    for k in range(first + 1, len(tokens)):  # (not a slice: that would copy the rest)
        tok = tokens[k]
        if tok is stop:
            break
        if tok.type == "link_open":
            depth += 1
        elif tok.type == "link_close":
            if depth == 0 and stop is None:
                break
            depth -= 1
        elif tok.type in ("text", "text_special", "code_inline"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif tok.type == "image" and tok.children:  # its alt text
            parts += (t.content for t in tok.children if t.type in ("text", "code_inline"))
    return " ".join("".join(parts).split())


def _destination(source: _Source, start: int, end: int, markdown: bool = True) -> str:
    raw = source.reduce(start, end)
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1]
    return unescapeAll(raw).strip() if markdown else raw


def _definition(source: _Source, tok: Token) -> _Found | None:
    """A reference definition token -> its line(s) and its destination as written."""
    text = source.filled
    first, last = tok.map[0], tok.map[1] - 1
    start = text.find("[", source.line_starts[first], source.line_end(first))
    end = source.line_end(last)
    if start < 0:
        return None
    pos = start + 1
    while pos < end and text[pos] != "]":
        pos += 2 if text[pos] == "\\" else 1
    pos += 2  # "]:"
    while pos < end and text[pos] in " \t\n":
        if text[pos] == "\n":  # a continuation line inside a block quote
            pos += 1
            while pos < end and text[pos] in " \t>":
                pos += 1
            continue
        pos += 1
    res = _markdown().helpers.parseLinkDestination(text, pos, end)
    if not res.ok:
        return None
    return _Found(start, end, "reference", _destination(source, pos, res.pos), "",
                  definition=True)


def _inline_links(source: _Source, tok: Token, md: MarkdownIt, env: dict,
                  definitions: dict[str, str]) -> tuple[list[_Found], list[tuple[int, int]]]:
    """The links of one inline token, and its free text (source offsets)."""
    content = tok.content
    to_src = _ContentMap(content, tok.map[0], source)
    rec = _Recorder(content)
    env[_ENV_KEY] = rec
    children: list[Token] = []
    try:
        md.inline.parse(content, md, env, children)
    finally:
        del env[_ENV_KEY]
    index = {id(t): i for i, t in enumerate(children)}
    found: list[_Found] = []
    covered: list[tuple[int, int]] = list(rec.masks)
    for start, end, dest, label, open_tok in rec.links:
        anchor = _anchor_text(children, index[id(open_tok)])
        if label is not None:
            kind, target = "reference", definitions.get(label, "")
        else:
            kind = "inline"
            target = ""
            if dest is not None:
                target = _destination(source, to_src.start(dest[0]), to_src.end(dest[1]))
        found.append(_Found(to_src.start(start), to_src.end(end), kind, target, anchor))
        covered.append((start, end))
    for start, end in rec.autolinks:
        raw = source.reduce(to_src.start(start + 1), to_src.end(end - 1))
        target = raw if _SCHEME.match(raw) else f"mailto:{raw}"
        found.append(_Found(to_src.start(start), to_src.end(end), "autolink", target, ""))
        covered.append((start, end))
    opened: tuple[int, int, Token] | None = None

    def close(tag: tuple[int, int, Token], end: int, close_tok: Token | None) -> None:
        """An `<a>` tag closed by close_tok ending at `end` (None: unclosed)."""
        start, _open_end, open_tok = tag
        span = _href_span(open_tok.content)
        if span is None:
            return
        value = (to_src.start(start + span[0]), to_src.end(start + span[1]))
        target = html.unescape(source.reduce(*value))
        anchor = _anchor_text(children, index[id(open_tok)], stop=close_tok) if close_tok else ""
        found.append(_Found(to_src.start(start), to_src.end(end), "html", target, anchor))
        covered.append((start, end))

    for start, end, tag in rec.tags:
        covered.append((start, end))
        if _A_OPEN.match(tag.content):
            if opened is not None:
                close(opened, opened[1], None)
            opened = (start, end, tag)
        elif _A_CLOSE.fullmatch(tag.content) and opened is not None:
            close(opened, end, tag)
            opened = None
    if opened is not None:
        close(opened, opened[1], None)
    segments = _complement(covered, 0, len(content))
    found += _bare_links(source, content, segments, to_src)
    free = [(to_src.start(a), to_src.end(b)) for a, b in segments]
    return found, free


def _parse_markdown(source: _Source) -> list[_Found]:
    md = _markdown()
    env: dict = {}
    tokens = md.parse(source.filled, env)
    found: list[_Found] = []
    definitions: dict[str, str] = {}
    for tok in tokens:
        if tok.type == "definition" and tok.map and (d := _definition(source, tok)):
            found.append(d)
            definitions.setdefault(tok.meta["id"], d.target)
    free: list[tuple[int, int]] = []
    for tok in tokens:
        if tok.type == "inline" and tok.map and tok.content:
            links, text = _inline_links(source, tok, md, env, definitions)
        elif tok.type == "html_block" and tok.map:
            start = source.line_starts[tok.map[0]]
            links, text = _scan_html(source, start, source.line_end(tok.map[1] - 1))
        else:
            continue
        found += links
        free += text
    return found + source.standalone(free)

