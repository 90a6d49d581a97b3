"""One file as a post: its front matter's fields, each checked (a bad field costs that
field, never the post), and drafts given on the command line."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import frontmatter
from dateutil import parser as date_parser

from ..front_matter import (
    MAX_FRONT_MATTER_CHARS,
    PostError,
    load_front_matter,
    load_toml_front_matter,
    split_toml_front_matter,
)
from ..markup import extract_headings, strip_inline
from ..urls import safe_url, url_problem
from .posts import _FILENAME_DATE, _LANG_CODE, MAX_FIELD_CHARS, MAX_TAGS, TAG_FIELDS, Post


def _as_text(value: Any, name: str) -> str:
    """A scalar field as text; PostError if it is not one (for fields a post needs)."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()[:MAX_FIELD_CHARS]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise PostError(f"'{name}' must be a string, got {_type_name(value)}")


def _type_name(value: Any) -> str:
    return {type(None): "null", dict: "mapping", list: "list", bool: "boolean"}.get(
        type(value), type(value).__name__)


def _optional_text(value: Any, name: str, warnings: list[str]) -> str:
    """A field the post can do without: a value of the wrong shape costs the field."""
    try:
        return _as_text(value, name)
    except PostError as exc:
        warnings.append(f"{exc}; the field is ignored")
        return ""


def _as_list(value: Any, name: str, warnings: list[str]) -> tuple[str, ...]:
    """A list of strings, or one string (comma-separated lists are not split).

    Entries that are not strings or numbers are dropped, and so are entries past
    MAX_TAGS; a value that is neither a list nor a string drops the field. Each drop adds
    a warning: a bad tag never costs the post.
    """
    if value is None:
        return ()
    if isinstance(value, bool) or not isinstance(value, (list, str, int, float)):
        warnings.append(f"'{name}' must be a list of strings or a string, got "
                        f"{_type_name(value)}; the field is ignored")
        return ()
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_TAGS:
        warnings.append(f"'{name}' has {len(items)} entries (limit {MAX_TAGS}); "
                        f"the first {MAX_TAGS} are kept")
        items = items[:MAX_TAGS]
    out: list[str] = []
    dropped: Counter[str] = Counter()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            dropped[_type_name(item)] += 1
            continue
        text = " ".join(str(item).split())[:200]
        if text and text not in out:
            out.append(text)
    if dropped:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(dropped.items()))
        warnings.append(f"'{name}' entries must be strings; dropped {kinds}")
    return tuple(out)


def parse_date(value: Any) -> str | None:
    """Normalise a front-matter date to ISO 8601, or None if it is not a date."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    # Hexo writes 2021/09/01 00:00:00; fromisoformat reads the rest of the usual forms.
    candidate = re.sub(r"^(\d{4})/(\d{1,2})/(\d{1,2})", r"\1-\2-\3", text)
    candidate = re.sub(r"^(\d{4})-(\d)-", r"\1-0\2-", candidate)
    candidate = re.sub(r"^(\d{4}-\d{2})-(\d)(?!\d)", r"\1-0\2", candidate)
    candidate = re.sub(r"\s+", " ", candidate)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", candidate):
            return dt.date.fromisoformat(candidate).isoformat()
        parsed = dt.datetime.fromisoformat(candidate.replace(" ", "T", 1).replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = date_parser.parse(text)
        except (ValueError, OverflowError):
            return None
    if parsed.year < 1 or parsed.year > 9999:
        return None
    if (parsed.hour, parsed.minute, parsed.second, parsed.microsecond) == (0, 0, 0, 0) and (
        parsed.tzinfo is None
    ):
        return parsed.date().isoformat()
    return parsed.isoformat()


def _date_from_filename(name: str) -> str | None:
    m = _FILENAME_DATE.match(name)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


def _first(meta: dict[str, Any], *keys: str) -> tuple[str | None, Any]:
    for key in keys:
        if key in meta and meta[key] is not None:
            return key, meta[key]
    return None, None


def _is_draft(meta: dict[str, Any]) -> bool:
    return meta.get("draft") is True or meta.get("published") is False


def decode(raw: bytes) -> str:
    """UTF-8 text with BOM and CRLF/CR line ends removed; PostError if not UTF-8 text."""
    if not raw.strip():
        raise PostError("empty file")
    if b"\x00" in raw:
        raise PostError("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PostError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


class NotAPost(PostError):
    """A page of the site that is not a post (a headless bundle)."""


_LEADING_BLANK_LINES = re.compile(r"(?:[ \t]*\n)*")


def parse_post(text: str, rel_path: str, tag_fields: Sequence[str] | None = None,
               languages: Sequence[str] = ()) -> tuple[Post, bool, list[str]]:
    """Parse one file's text into (post with raw tag spellings, is_draft, warnings).

    tag_fields: the front-matter keys whose values are merged into the tags (the
    `--taxonomy`); default: the first of TAG_FIELDS present. languages: the codes a
    file name may end in (`post.es.md`): that one is in Spanish, and its slug is `post`."""
    # Blank lines before the front matter: Hugo skips them, and real posts have them.
    text = text[_LEADING_BLANK_LINES.match(text).end():]  # type: ignore[union-attr]
    if text.startswith("+++"):  # Hugo's TOML front matter
        fm, body = split_toml_front_matter(text)
        if len(fm) > MAX_FRONT_MATTER_CHARS:
            raise PostError(f"front matter is too large ({len(fm)} characters)")
        meta: Any = load_toml_front_matter(fm)
        duplicate_keys: list[str] = []
    else:
        if not re.match(r"-{3,}[ \t]*\n", text):
            raise PostError("no front matter (the file must start with a '---' line, or "
                            "'+++' for TOML)")
        if not re.search(r"\n-{3,}[ \t]*(\n|$)", text):
            raise PostError("front matter never closes (no second '---' line)")
        try:
            fm, body = frontmatter.YAMLHandler().split(text)
        except ValueError as exc:
            raise PostError(f"cannot split front matter from the body ({exc})") from None
        if len(fm) > MAX_FRONT_MATTER_CHARS:
            raise PostError(f"front matter is too large ({len(fm)} characters)")
        meta, duplicate_keys = load_front_matter(fm)
    if not isinstance(meta, dict):
        raise PostError("front matter is not a mapping of keys to values")
    warnings = [f"duplicate key {k!r} in front matter; the last value is used"
                for k in dict.fromkeys(duplicate_keys)]
    name = rel_path.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    if meta.get("headless") is True:
        raise NotAPost("headless bundle (headless: true), not a post")
    if stem in ("index", "_index") and "/" in rel_path:  # a page bundle: its folder names it
        stem = rel_path.rsplit("/", 2)[-2]
    name_lang = None
    base, _, suffix = stem.rpartition(".")
    if base and suffix.casefold() in languages:
        stem, name_lang = base, suffix.casefold()

    title = _as_text(meta.get("title"), "title")
    if not title:
        raise PostError("missing title")

    date = None
    if meta.get("date") is not None:
        date = parse_date(meta["date"])
        if date is None:
            warnings.append(f"date {str(meta['date'])[:60]!r} is not a date; ignored")
    if date is None:
        date = _date_from_filename(name)

    if tag_fields is None:
        tag_field, raw_tags = _first(meta, *TAG_FIELDS)
        tags = _as_list(raw_tags, tag_field or "tags", warnings)
    else:
        tags = tuple(dict.fromkeys(t for f in tag_fields
                                   for t in _as_list(meta.get(f), f, warnings)))
    cat_field, raw_cats = _first(meta, "categories", "category")
    categories = _as_list(raw_cats, cat_field or "categories", warnings)
    lede_field, raw_lede = _first(meta, "lede", "description", "excerpt", "summary")
    lede = strip_inline(_optional_text(raw_lede, lede_field or "lede", warnings))

    slug = (_optional_text(meta.get("slug"), "slug", warnings)
            or _FILENAME_DATE.sub("", stem) or stem)
    url_field, raw_url = _first(meta, "permalink", "url")
    url = _optional_text(raw_url, url_field or "url", warnings) or None
    if url is not None and (problem := url_problem(url)) is not None:
        # The value itself is not repeated: this message is written to the reports.
        warnings.append(f"'{url_field}' is not a link blogrec writes ({problem}); the "
                        f"field is ignored and links go to the post's own page")
        url = None
    url = safe_url(url) if url is not None else None
    alias_field, raw_aliases = _first(meta, "aliases", "redirect_from")
    aliases = tuple(a for a in _as_list(raw_aliases, alias_field or "aliases", warnings)
                    if url_problem(a) is None)

    lang_field, raw_lang = _first(meta, "lang", "language")
    lang = _optional_text(raw_lang, lang_field or "lang", warnings) or None
    if lang is not None and not _LANG_CODE.fullmatch(lang):
        warnings.append(f"'{lang_field}' is not a language code; the field is ignored")
        lang = None
    key = _optional_text(meta.get("translationKey"), "translationKey", warnings) or None

    body = body.strip()
    result = Post(
        path=rel_path,
        slug=slug,
        title=strip_inline(title) or title,
        date=date,
        tags=tags,
        categories=categories,
        lede=lede,
        headings=extract_headings(body),
        body=body,
        url=url,
        aliases=aliases,
        lang=lang.casefold() if lang else name_lang,
        translation_key=f"key:{key}" if key else None,
    )
    return result, _is_draft(meta), warnings


def parse_draft(path: str | Path) -> tuple[Post, str | None]:
    """A draft file as a `Post`, and a warning when its front matter could not be used.

    A draft whose front matter is broken (or absent) is read as raw text: the first
    non-empty line is the title, the whole text the body, no tags.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = decode(raw)
    except PostError as exc:
        if "empty" in str(exc):
            raise
        text = raw.decode("utf-8", errors="replace")
    try:
        post, _draft, _warnings = parse_post(text, path.name)
        return post, None
    except (PostError, RecursionError) as exc:
        warning = f"{path.name}: front matter not usable ({exc}); suggesting from the raw text"
    lines = [ln.strip().lstrip("#").strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln and not re.fullmatch(r"-{3,}|[\w-]+:.*", ln)]
    title = lines[0] if lines else path.stem
    body = text
    return Post(path=path.name, slug=path.stem, title=title[:300], date=None,
                headings=extract_headings(body), body=body), warning

