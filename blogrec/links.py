"""Links between a blog's own posts: found in the Markdown, resolved to posts, and removable
from the text ("blinding"), so an evaluation can ask whether the posts an author linked are
among the related posts without any method having seen the links.

Everything runs in linear time whatever the input. The Markdown structure (code spans and
blocks, inline and reference links, autolinks, raw HTML) comes from markdown-it-py, a
CommonMark parser in linear time, but pure Python: it spends ~10-20 us on every bracket,
emphasis marker or line, and ~0.2 us on every other character (measured on 4.x; 300,000 `[`
take 4.6 s). A body whose estimated parse time is over MAX_PARSE_COST is therefore read by a
line-and-regex scanner instead: the same kinds of links, with CommonMark's corner cases
(nested brackets, parentheses in destinations, multi-line definitions, lists) approximated.

Template expressions are read before the Markdown, as Hugo and Jekyll do: `{{< ref "x" >}}`,
`{% post_url x %}`, `{{ site.baseurl }}`... are replaced by a same-length filler, so offsets do
not move and a link such as `[t]({{< ref "x" >}})` parses as one link.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import NamedTuple
from urllib.parse import unquote

from markdown_it import MarkdownIt, rules_inline
from markdown_it.common.utils import normalizeReference, unescapeAll
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from .corpus import Post
from .markup import outside_fences, strip_inline

# Estimated markdown-it time of a body, in microseconds (see the module docstring); over this
# the fallback scanner reads it. Costs per character, measured on markdown-it-py 4.
MAX_PARSE_COST = 300_000
_COST_PER_CHAR = 0.2
_COSTLY_CHARS = {"[": 20, "\n": 25, "!": 12, "*": 8, "_": 8, "&": 6, "`": 5}
_CHEAP_TERMINATORS = "]<>\\{}%$#@~+=:-^"
MAX_UNRESOLVED_EXAMPLES = 5

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


# ---------------------------------------------------------------- template expressions

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


# ---------------------------------------------------------------- shared pieces

# GFM extended autolinks: after a blank or an opening delimiter; trailing punctuation trimmed.
# (The leading lookaheads let the regex engine skip to candidate characters: 3-10x faster.)
_BARE_URL = re.compile(r"(?=[hw])(?<![^\s*_~(\[\"'>])(?:https?://|www\.)[^\s<>]+",
                       re.IGNORECASE)
_TRAILING = ".,:;!?*_~'\""
_ATTR = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_A_OPEN = re.compile(r"<a(?=[\s/>])", re.IGNORECASE)
_A_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^<>]*>")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _bare_urls(text: str, start: int, end: int) -> Iterable[tuple[int, int]]:
    """Spans of the bare URLs in text[start:end], GFM style."""
    for m in _BARE_URL.finditer(text, start, end):
        url = m[0]
        cut = len(url)
        opened = {")": url.count("("), "]": url.count("[")}
        closed = {")": url.count(")"), "]": url.count("]")}
        while cut:
            c = url[cut - 1]
            if c in _TRAILING:
                cut -= 1
            elif c in closed and closed[c] > opened[c]:
                closed[c] -= 1
                cut -= 1
            else:
                break
        scheme_end = url.find("//") + 2 if url[:1] in "hH" else 4
        if cut > scheme_end:
            yield m.start(), m.start() + cut


def _href_span(tag: str) -> tuple[int, int] | None:
    """Offsets in an `<a ...>` tag of its first href's value (HTML: the first one wins)."""
    for m in _ATTR.finditer(tag, 2):
        if m[1].lower() == "href":
            for group in (2, 3, 4):
                if m.group(group) is not None:
                    return m.span(group)
            return m.end(), m.end()
    return None


def _html_text(fragment: str) -> str:
    return " ".join(html.unescape(_ANY_TAG.sub(" ", fragment)).split())


def _complement(covered: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """The parts of start:end outside the covered ranges."""
    free: list[tuple[int, int]] = []
    pos = start
    for a, b in sorted(covered):
        if a > pos:
            free.append((pos, min(a, end)))
        pos = max(pos, b)
    if pos < end:
        free.append((pos, end))
    return [(a, b) for a, b in free if a < b]


def _scan_html(source: _Source, start: int, end: int) -> tuple[list[_Found], list[tuple[int, int]]]:
    """`<a href>` links of raw HTML in source[start:end], comments skipped; and its text
    outside tags (where standalone templates count)."""
    text = source.filled
    found: list[_Found] = []
    covered: list[tuple[int, int]] = []
    opened: tuple[int, int, tuple[int, int] | None] | None = None  # tag start, end, href

    def close(tag: tuple[int, int, tuple[int, int] | None], at_start: int, at_end: int) -> None:
        """An `<a>` closed by the tag at_start:at_end (or unclosed: at_end == its end)."""
        s, e, href = tag
        if href is None:
            return
        anchor = _html_text(source.src[e:at_start]) if at_end > e else ""
        target = html.unescape(source.reduce(*href))
        found.append(_Found(s, max(at_end, e), "html", target, anchor))

    pos = start
    while (i := text.find("<", pos, end)) >= 0:
        if text.startswith("<!--", i):
            j = text.find("-->", i + 4, end)
            stop = end if j < 0 else j + 3
            covered.append((i, stop))
            pos = stop
            continue
        m = _ANY_TAG.match(text, i, end)  # [^<>]: the scan stops at the next "<"
        if m is None:
            pos = i + 1
            continue
        covered.append(m.span())
        if _A_OPEN.match(m[0]):
            if opened is not None:
                close(opened, opened[1], opened[1])
            span = _href_span(m[0])
            opened = (i, m.end(), None if span is None else (i + span[0], i + span[1]))
        elif _A_CLOSE.fullmatch(m[0]) and opened is not None:
            close(opened, i, m.end())
            opened = None
        pos = m.end()
    if opened is not None:
        close(opened, opened[1], opened[1])
    covered += [(f.start, f.end) for f in found]
    return found, _complement(covered, start, end)


def _bare_links(source: _Source, text: str, segments: list[tuple[int, int]],
                to_src: _ContentMap | None = None) -> list[_Found]:
    """Bare URLs in the free segments of `text` (content offsets when `to_src` maps them)."""
    found: list[_Found] = []
    for a, b in segments:
        for s, e in _bare_urls(text, a, b):
            if to_src is not None:
                s, e = to_src.start(s), to_src.end(e)
            found.append(_Found(s, e, "bare", source.reduce(s, e), ""))
    return found


# ---------------------------------------------------------------- markdown-it

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


# ---------------------------------------------------------------- fallback scanner

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


# ---------------------------------------------------------------- extraction


def _parse_cost(src: str) -> float:
    """Estimated markdown-it time of `src` in microseconds."""
    cost = _COST_PER_CHAR * len(src)
    cost += sum(weight * src.count(ch) for ch, weight in _COSTLY_CHARS.items())
    return cost + 3 * sum(src.count(ch) for ch in _CHEAP_TERMINATORS)


def _extract(body: str) -> list[_Found]:
    """Every link of a body and every reference definition, in body offsets, by position,
    no two overlapping (an outer construct wins over one inside it)."""
    source = _Source(body)
    found: list[_Found] | None = None
    if _parse_cost(source.filled) <= MAX_PARSE_COST:
        try:
            found = _parse_markdown(source)
        except RecursionError:
            found = None
    if found is None:
        found = _scan_fallback(source)
    blocks = source.code_blocks
    block_ends = [b for _, b in blocks]
    kept: list[_Found] = []
    last_end = -1
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if f.start < last_end or f.end <= f.start:
            continue
        i = bisect_right(block_ends, f.start)
        if i < len(blocks) and blocks[i][0] < f.end:
            continue  # inside a {% highlight %} or {% comment %} block
        last_end = f.end
        kept.append(f._replace(start=source.body_offset(f.start),
                               end=source.body_offset(f.end), target=f.target.strip()))
    return kept


def extract_links(body: str) -> list[Link]:
    """Every link in a Markdown body, in order of position; never inside code spans or
    fenced/indented code blocks or HTML comments; images (`![..](..)`, `<img src>`) are not
    links. Reference definitions (`[id]: /x/ "t"`) are resolved for `[text][id]`, `[text][]`
    and `[id]` uses; the definition line itself is also returned as a span to remove
    (kind "reference", anchor "")."""
    return [Link(f.target, f.anchor, f.start, f.end, f.kind) for f in _extract(body)]


# ---------------------------------------------------------------- resolution

_ASSET_EXTENSIONS = frozenset(
    "png jpg jpeg gif svg webp avif bmp ico tif tiff heic pdf zip gz tgz tar bz2 xz 7z rar "
    "dmg exe apk deb rpm iso css js mjs map json xml rss atom txt csv tsv mp4 m4v webm mov avi "
    "mkv mp3 wav ogg oga m4a flac woff woff2 ttf otf eot ppt pptx doc docx xls xlsx odt ods "
    "odp key epub ipynb bat sh ps1 ahk".split()
)
_PAGE_SUFFIXES = (".html", ".htm", ".md", ".markdown")
_INDEX_NAMES = frozenset({"index", "_index"})
# List pages: a slug match never fires for a path with one of these segments.
TAXONOMY_SEGMENTS = frozenset(
    {"tags", "tag", "categories", "category", "topics", "page", "author", "authors", "archives"}
)
_DATED_NAME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})-(.+)")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_WEB_SCHEMES = ("http", "https")

Date = tuple[int, ...]


def _split_url(target: str) -> tuple[str | None, str | None, str]:
    """(scheme, host, path) of a URL, query and fragment dropped; host None if relative."""
    cut = len(target)
    for mark in "#?":
        i = target.find(mark)
        if 0 <= i < cut:
            cut = i
    text = target[:cut]
    m = _SCHEME.match(text)
    scheme = m[1].lower() if m else None
    rest = text[m.end() :] if m else text
    if rest.startswith("//"):
        slash = rest.find("/", 2)
        host, path = (rest[2:], "/") if slash < 0 else (rest[2:slash], rest[slash:])
        return scheme, host, path
    return scheme, None, rest


def _host(host: str) -> str:
    """Host for comparison: case, user info, port and a leading `www.` ignored."""
    host = host.rsplit("@", 1)[-1].lower()
    if not host.startswith("["):
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _segments(path: str) -> tuple[str, ...]:
    """Matching form of a path: unquoted, dot segments resolved, `index.html`/`.html`/`.md`
    suffixes and trailing slashes dropped, case folded."""
    segs: list[str] = []
    for seg in unquote(path).split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segs:
                segs.pop()
            continue
        segs.append(seg)
    if segs:
        last = segs[-1]
        low = last.lower()
        for suffix in _PAGE_SUFFIXES:
            if low.endswith(suffix) and len(last) > len(suffix):
                last = last[: -len(suffix)]
                break
        if last.lower() in _INDEX_NAMES:
            segs.pop()
        else:
            segs[-1] = last
    return tuple(s.casefold() for s in segs)


def _is_asset(path: str) -> bool:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return "." in name and name.rsplit(".", 1)[1].lower() in _ASSET_EXTENSIONS


def _dir_of(path: str) -> str:
    """The directory part of a URL path, as a browser resolves relative links against it."""
    return path[: path.rfind("/") + 1] if "/" in path else "/"


def _date_of(post: Post) -> Date | None:
    m = _ISO_DATE.match(post.date or "")
    if m is None:
        name = post.path.rsplit("/", 1)[-1]
        m = _DATED_NAME.match(name)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _url_date(segs: tuple[str, ...]) -> Date | None:
    """The date a URL path writes before its last segment: /YYYY/MM/DD/x, /YYYY/MM/x, /YYYY/x."""
    for i, seg in enumerate(segs[:-1]):
        if len(seg) == 4 and seg.isdigit():
            date = [int(seg)]
            for part in segs[i + 1 : min(i + 3, len(segs) - 1)]:
                if not (part.isdigit() and len(part) <= 2):
                    break
                date.append(int(part))
            return tuple(date)
    return None


def _index(table: dict, key: object, value: int) -> None:
    """Add a post to a key's list (posts are indexed in order: a repeat is the last one)."""
    values = table.setdefault(key, [])
    if not values or values[-1] != value:
        values.append(value)


class _Site(NamedTuple):
    host: str
    prefix: tuple[str, ...]


class LinkResolver:
    """Which post a link target reaches. See `resolve` for the rules, in order."""

    def __init__(self, site_urls: Sequence[str] = ()) -> None:
        self._sites: list[_Site] = []
        for url in site_urls:
            url = url.strip()
            if "//" not in url:  # "example.com/blog/"
                url = "//" + url
            _scheme, host, path = _split_url(url)
            if host:
                self._sites.append(_Site(_host(host), _segments(path)))
        # Longest prefix first: the most specific base wins.
        self._sites.sort(key=lambda s: (-len(s.prefix), s.host, s.prefix))
        self._prefixes = sorted({s.prefix for s in self._sites if s.prefix}, key=len,
                                reverse=True)
        self._fit(())

    # -------------------------------------------------- fitting

    def fit(self, posts: Sequence[Post]) -> LinkResolver:
        """Index the posts; learn the other hosts the blog's links use for its own posts."""
        return self._fit(posts, [_extract(p.body) for p in posts])

    def _fit(self, posts: Sequence[Post], extracted: Sequence[list[_Found]] = ()
             ) -> LinkResolver:
        self._posts = list(posts)
        self._exact: dict[tuple[str, ...], list[int]] = {}  # post.url / aliases paths
        self._exact_abs: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        self._content: dict[tuple[str, ...], list[int]] = {}  # file paths
        self._by_last: dict[str, list[int]] = {}
        self._slugs: dict[str, list[int]] = {}
        self._names: dict[str, list[int]] = {}  # file stems, undated stems, bundle folders
        self._dates: list[Date | None] = []
        self._content_segs: list[tuple[str, ...]] = []
        self._learned: frozenset[str] = frozenset()
        for i, post in enumerate(self._posts):
            self._dates.append(_date_of(post))
            for url in (post.url, *post.aliases):
                if url:
                    self._index_url(url.strip(), i)
            content = _segments(post.path)
            self._content_segs.append(content)
            _index(self._slugs, post.slug.casefold(), i)
            if content:
                _index(self._content, content, i)
                _index(self._by_last, content[-1], i)
                _index(self._names, content[-1], i)
                if m := _DATED_NAME.fullmatch(content[-1]):
                    _index(self._names, m[4], i)
        self._learned = self._learn(extracted)
        return self

    def _index_url(self, url: str, i: int) -> None:
        _scheme, host, path = _split_url(url)
        segs = _segments(path)
        if host is None:
            _index(self._exact, segs, i)
            _index(self._exact, self._strip_prefix(segs), i)
            return
        h = _host(host)
        _index(self._exact_abs, (h, segs), i)
        for site in self._sites:
            if site.host == h and segs[: len(site.prefix)] == site.prefix:
                _index(self._exact, segs[len(site.prefix) :], i)
                break

    def _learn(self, extracted: Sequence[list[_Found]]) -> frozenset[str]:
        """Hosts (other than the site's) that carry >= 2 distinct exact post URLs (a post's
        url or aliases) among the blog's links: the blog's old or other domains."""
        own = {s.host for s in self._sites}
        urls_by_host: dict[str, set[tuple[str, ...]]] = {}
        for found in extracted:
            for f in found:
                scheme, host, path = _split_url(f.target)
                if not host or scheme not in (*_WEB_SCHEMES, None):
                    continue
                h = _host(host)
                if h in own:
                    continue
                segs = _segments(path)
                hits = self._exact_abs.get((h, segs)) or self._exact.get(segs) or []
                if len(hits) == 1:
                    urls_by_host.setdefault(h, set()).add(segs)
        return frozenset(h for h, urls in urls_by_host.items() if len(urls) >= 2)

    # -------------------------------------------------- resolving

    def resolve(self, target: str, source: int | None = None) -> int | None:
        """Index of the post `target` reaches (never `source` itself), or None.

        Rules, first that applies: an empty target or `#fragment` reaches no post; a Hugo
        ref/relref, Jekyll post_url/link or Hexo post_link names a content file (by path,
        then path suffix, then base name, unique); other schemes than http(s), and assets
        (images, PDFs, ...), reach no post; an absolute URL counts when its host is a site
        URL's (under its path prefix) or a learned one; a relative link is resolved against
        the source's URL, its guessed pretty URL, then its file's folder. A path then
        matches, in order: a post's `url`/aliases, a post's file path, then the slug of its
        last segment (unique; the URL's date picks among posts sharing it), never for
        taxonomy paths (/tags/..., /page/2/...).
        """
        status, index = self._classify(target, source)
        return index if status == "post" else None

    def _classify(self, target: str, source: int | None) -> tuple[str, int | None]:
        """("post", i) | ("self", None) | ("internal", None) | ("external", None)."""
        text = target.strip()
        if not text or text.startswith("#"):
            return "external", None
        if "{" in text and (call := _template_call(text)) is not None:
            return self._verdict(self._by_content_path(call[1], source), source)
        if "{" in text and _TEMPLATE.search(text):  # another template ({{% param x %}}):
            return "external", None  # where it goes cannot be told
        if text[:4].lower() == "www.":
            text = "http://" + text
        scheme, host, path = _split_url(text)
        if scheme is not None and scheme not in _WEB_SCHEMES:
            return "external", None
        if _is_asset(path):
            return "external", None
        if host is not None:
            return self._absolute(_host(host), _segments(path), source)
        if scheme is not None:  # "http:x": not a usable URL
            return "external", None
        if path.startswith("/"):
            return self._verdict(self._match(_segments(path)), source)
        if not path:  # "?query" only: the same page
            return "external", None
        for base in self._bases(source, path):
            if (found := self._match(_segments(base + path))) is not None:
                return self._verdict(found, source)
        return "internal", None

    def _absolute(self, host: str, segs: tuple[str, ...], source: int | None
                  ) -> tuple[str, int | None]:
        exact = self._exact_abs.get((host, segs))
        if exact and len(exact) == 1:
            return self._verdict(exact[0], source)
        sites = [s for s in self._sites if s.host == host]
        if sites:
            for site in sites:
                if segs[: len(site.prefix)] == site.prefix:
                    return self._verdict(self._match(segs[len(site.prefix) :], False), source)
            return "external", None  # same host, another site (a GitHub Pages neighbour)
        if host in self._learned:
            return self._verdict(self._match(segs), source)
        return "external", None

    def _bases(self, source: int | None, path: str) -> list[str]:
        """Folders a relative link may be written against, most likely first."""
        if source is None or not 0 <= source < len(self._posts):
            return ["/"]
        post = self._posts[source]
        url_base = None
        if post.url:
            _, _, url_path = _split_url(post.url.strip())
            url_base = _dir_of(url_path if url_path.startswith("/") else "/" + url_path)
        content = self._content_segs[source]
        pretty = "/" + "".join(f"{s}/" for s in content)
        file_dir = _dir_of("/" + post.path)
        bases = [url_base, pretty, file_dir]
        if path.lower().endswith((".md", ".markdown")):  # a file-relative link
            bases = [file_dir, url_base, pretty]
        return list(dict.fromkeys(b for b in bases if b))

    def _verdict(self, index: int | None, source: int | None) -> tuple[str, int | None]:
        if index is None:
            return "internal", None
        if index == source:
            return "self", None
        return "post", index

    def _strip_prefix(self, segs: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in self._prefixes:
            if segs[: len(prefix)] == prefix:
                return segs[len(prefix) :]
        return segs

    def _match(self, segs: tuple[str, ...], try_prefix: bool = True) -> int | None:
        """The post at a site path: its url/aliases, its file path, then its slug."""
        forms = [segs]
        if try_prefix and (stripped := self._strip_prefix(segs)) != segs:
            forms.append(stripped)
        for table in (self._exact, self._content):
            for form in forms:
                hits = table.get(form)
                if hits and len(hits) == 1:
                    return hits[0]
        segs = forms[-1]
        if not segs or any(s in TAXONOMY_SEGMENTS for s in segs):
            return None
        return self._by_name(segs[-1], _url_date(segs))

    def _by_name(self, name: str, date: Date | None) -> int | None:
        """The one post with this slug (or, if no slug matches, this file name)."""
        names = [name]
        if m := _DATED_NAME.fullmatch(name):
            names.append(m[4])
            date = date or (int(m[1]), int(m[2]), int(m[3]))
        for table in (self._slugs, self._names):
            for key in names:
                hits = table.get(key)
                if hits:
                    return self._pick(hits, date)
        return None

    def _pick(self, hits: list[int], date: Date | None) -> int | None:
        if len(hits) == 1:
            return hits[0]
        if date is None:
            return None
        dated = [i for i in hits if (d := self._dates[i]) is not None and d[: len(date)] == date]
        return dated[0] if len(dated) == 1 else None

    def _by_content_path(self, path: str, source: int | None) -> int | None:
        """The post a ref/relref/post_url/link/post_link names: its content path, relative
        to the source's folder, exactly, then by path suffix, then by base name (unique)."""
        path = path.split("#", 1)[0].split("?", 1)[0].strip()
        segs = _segments(path)
        if not segs:
            return None
        if source is not None and 0 <= source < len(self._posts) and not path.startswith("/"):
            here = _segments(_dir_of("/" + self._posts[source].path) + path)
            hits = self._content.get(here)
            if hits and len(hits) == 1:
                return hits[0]
        hits = self._content.get(segs)
        if hits and len(hits) == 1:
            return hits[0]
        best: list[int] = []
        best_len = 0
        for i in self._by_last.get(segs[-1], ()):
            content = self._content_segs[i]
            n = min(len(content), len(segs))
            if content[-n:] == segs[-n:]:
                if n > best_len:
                    best, best_len = [i], n
                elif n == best_len:
                    best.append(i)
        if len(best) == 1:
            return best[0]
        if best:
            return None
        return self._by_name(segs[-1], None)


# ---------------------------------------------------------------- the graph and blinding


@dataclass
class LinkGraph:
    """The links between a blog's posts, and where they are in each body."""

    out: list[tuple[int, ...]]  # per post, the posts it links to (sorted, unique, no self)
    spans: list[tuple[tuple[int, int], ...]]  # per post, the spans to blind (sorted)
    resolved: int  # links that reach another post
    unresolved: int  # links that look internal but reach no post
    unresolved_examples: tuple[tuple[str, str], ...]  # (post path, target), first ones
    external: int  # other sites, assets, same-page anchors and self-links, mailto...

    def undirected(self) -> list[frozenset[int]]:
        """Per post, the posts it links to or that link to it."""
        linked = [set(targets) for targets in self.out]
        for i, targets in enumerate(self.out):
            for j in targets:
                linked[j].add(i)
        return [frozenset(s) for s in linked]


def link_graph(posts: Sequence[Post], site_urls: Sequence[str] = ()) -> LinkGraph:
    """Extract every post's links, resolve them (two passes: the second knows the hosts the
    blog uses for its own posts) and collect the spans that blinding removes.

    A reference definition is blinded when its target reaches another post (then so do all
    its uses, which share its target); definitions are not counted as links themselves.
    """
    extracted = [_extract(p.body) for p in posts]
    resolver = LinkResolver(site_urls)._fit(posts, extracted)
    out: list[tuple[int, ...]] = []
    spans: list[tuple[tuple[int, int], ...]] = []
    resolved = unresolved = external = 0
    examples: list[tuple[str, str]] = []
    for i, (post, found) in enumerate(zip(posts, extracted, strict=True)):
        targets: set[int] = set()
        blinded: list[tuple[int, int]] = []
        for f in found:
            status, j = resolver._classify(f.target, i)
            if status == "post":
                blinded.append((f.start, f.end))
            if f.definition:
                continue
            if status == "post" and j is not None:
                targets.add(j)
                resolved += 1
            elif status == "internal":
                unresolved += 1
                example = (post.path, f.target)
                if len(examples) < MAX_UNRESOLVED_EXAMPLES and example not in examples:
                    examples.append(example)
            else:
                external += 1
        out.append(tuple(sorted(targets)))
        spans.append(tuple(sorted(blinded)))
    return LinkGraph(out, spans, resolved, unresolved, tuple(examples), external)


def blind(body: str, spans: Sequence[tuple[int, int]]) -> str:
    """The body with each span replaced by one space, everything else byte-identical."""
    pieces: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start, end = max(start, 0), min(end, len(body))
        if start < pos:  # overlaps the previous span: one removal
            pos = max(pos, end)
        elif start < end:
            pieces += [body[pos:start], " "]
            pos = end
    pieces.append(body[pos:])
    return "".join(pieces)


def blinded_posts(posts: Sequence[Post], graph: LinkGraph) -> list[Post]:
    """The posts with their links to other posts removed; a post without any is the same
    object."""
    return [replace(p, body=blind(p.body, s)) if s else p
            for p, s in zip(posts, graph.spans, strict=True)]
