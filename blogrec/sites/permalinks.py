"""Permalink patterns expanded into a post's URL path as each generator does, and the
generators' slug functions."""

from __future__ import annotations

import datetime as dt
import re
import string
import unicodedata
from collections.abc import Callable, Sequence

from .jekyll import JEKYLL_STYLES
from .site import MARKDOWN_SUFFIXES

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_FILENAME_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}-")
_HEXDIGITS = set(string.hexdigits)


class _NeedsDate(Exception):
    pass


def _parse_date(value: str | None) -> dt.datetime | None:
    """The wall-clock date and time as written (no time-zone shift)."""
    if not value:
        return None
    m = _ISO_DATE.match(value.strip())
    if not m:
        return None
    try:
        return dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0),
                           int(m[6] or 0))
    except ValueError:
        return None


def hugo_urlize(text: str) -> str:
    """Hugo's `urlize` path form: letters (any script), digits, marks and `./\\_#+~-@`
    are kept, runs of spaces become one hyphen, anything else is dropped; lowercased."""
    out: list[str] = []
    prepend = was_hyphen = False
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        allowed = ch in "./\\_#+~-@" or cat[0] in "LM" or cat == "Nd" or (
            ch == "%" and i + 2 < len(text) and text[i + 1] in _HEXDIGITS
            and text[i + 2] in _HEXDIGITS)
        if allowed:
            was_hyphen = ch == "-"
            if prepend:
                if not was_hyphen:
                    out.append("-")
                prepend = False
            out.append(ch)
        elif out and not was_hyphen and ch.isspace():
            prepend = True
    return "".join(out).lower()


def jekyll_slugify(text: str, *, pretty: bool = False, cased: bool = False) -> str:
    """Jekyll's `slugify` ("default" or "pretty" mode): runs of characters other than
    letters, marks and digits (and, when pretty, `._~!$&'()+,;=@`) become one hyphen."""
    out: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LM" or cat == "Nd" or (pretty and ch in "._~!$&'()+,;=@"):
            out.append(ch)
        elif not out or out[-1] != "-":
            out.append("-")
    slug = "".join(out)
    slug = slug[1:] if slug.startswith("-") else slug
    slug = slug[:-1] if slug.endswith("-") else slug
    return slug if cased else slug.lower()


_HEXO_SPECIAL = re.compile(r"""[\s~`!@#$%^&*()\-_+=\[\]{}|\\;:"'<>,.?/]+""")


def _strip_latin_accents(text: str) -> str:
    # hexo-util's escapeDiacritic maps Latin letters only: Japanese voiced kana stay whole.
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.category(ch) == "Mn" and out and (
                ord(out[-1]) < 0x250 or 0x1E00 <= ord(out[-1]) <= 0x1EFF):
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def hexo_slugize(text: str, *, lower: bool = False) -> str:
    """hexo-util's `slugize`: Latin accents dropped, control characters removed, runs of
    spaces and ASCII punctuation become one hyphen; case kept unless `lower`."""
    text = re.sub(r"[\x00-\x1f]", "", _strip_latin_accents(text))
    slug = _HEXO_SPECIAL.sub("-", text).strip("-")
    return slug.lower() if lower else slug


def _stem(filename: str) -> tuple[str, str]:
    """(parent folder, file name without its extension) of a POSIX or Windows path."""
    path = filename.replace("\\", "/").strip("/")
    parent, _, name = path.rpartition("/")
    lower = name.lower()
    for suffix in (*MARKDOWN_SUFFIXES, ".html"):
        if lower.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return parent, name


def _hugo_filename(filename: str, lang: str | None) -> str:
    parent, name = _stem(filename)
    if lang and name.lower().endswith("." + lang.lower()):
        name = name[: -len(lang) - 1]  # x.es.md -> x
    if name == "_index":
        return ""
    if name == "index" and parent:
        name = parent.rsplit("/", 1)[-1]  # a page bundle: its folder's name
    return hugo_urlize(name)


def _hexo_title_from_filename(filename: str, new_post_name: str | None) -> str:
    """Hexo's slug from the file's path under source/_posts, read with `new_post_name`
    (":year-:month-:day-:title.md" -> the part after the date)."""
    parent, name = _stem(filename)
    path = f"{parent}/{name}" if parent else name
    if new_post_name:
        pattern_stem = _stem(new_post_name)[1]
        parent_pattern = _stem(new_post_name)[0]
        full = f"{parent_pattern}/{pattern_stem}" if parent_pattern else pattern_stem
        regex = "".join(
            {":year": r"\d{4}", ":month": r"\d{2}", ":i_month": r"\d{1,2}", ":day": r"\d{2}",
             ":i_day": r"\d{1,2}", ":lang": r"[^/]+", ":title": "(?P<title>.+)"}.get(
                part, re.escape(part))
            for part in re.split(r"(:[a-z_]+)", full) if part)
        m = re.fullmatch(regex, path) if "(?P<title>" in regex else None
        if m:
            return m["title"]
    return path


def _guess_generator(pattern: str) -> str:
    tokens = set(re.findall(r":([A-Za-z_]+)", pattern))
    if pattern in JEKYLL_STYLES or tokens & {"categories", "output_ext", "short_year",
                                             "y_day", "short_month", "long_month",
                                             "short_day", "long_day", "week"}:
        return "jekyll"
    if tokens & {"post_title", "name", "category", "lang", "hash", "id"}:
        return "hexo"
    if not pattern.startswith("/"):
        return "hexo"  # Hexo's patterns are relative to `root`
    if tokens & {"i_month", "i_day"}:
        return "jekyll"
    return "hugo"


def expand_permalink(pattern: str, *, slug: str, title: str, date: str | None, section: str,
                     filename: str, categories: Sequence[str] = (), lang: str | None = None,
                     generator: str | None = None,
                     new_post_name: str | None = None) -> str | None:
    """A post's URL path from a permalink pattern, as the generator writes it; None when
    the pattern needs a date the post lacks.

    Hugo: :year :month :monthname :day :weekday :weekdayname :yearday :section :sections
    :title :slug :filename :contentbasename :slugorfilename :slugorcontentbasename.
    Jekyll: :year :month :i_month :day :i_day :short_year :hour :minute :second :y_day
    :short_month :long_month :short_day :long_day :week :title :slug :categories
    :output_ext, and the styles date/pretty/ordinal/weekdate/none.
    Hexo: :year :month :day :i_month :i_day :hour :minute :second :title :name
    :post_title :category :lang.

    `slug` is the front-matter slug ("" when there is none, so each generator falls back
    as it does: Hugo to the title, Jekyll and Hexo to the file name); `title` the
    front-matter title; `date` ISO 8601 as written (its wall-clock time is used);
    `section` the Hugo section ("posts"); `filename` the post's path under its posts
    folder ("2024-03-01-x.md", "bundle/index.md", "x.es.md"); `categories` in order.
    `lang`: Hugo and Jekyll put it before the path (pass it for a non-default language
    only); Hexo uses it for :lang. `generator`: "hugo", "jekyll" or "hexo" (guessed from
    the pattern when None: pass `site.generator`); `new_post_name`: Hexo's, to read the
    slug out of a dated file name. The path has a leading slash and is relative to the
    site's base URL (Jekyll's baseurl and Hexo's root are in `Site.base_url`). Tokens the
    generator does not know are left as written. Unicode letters are kept unescaped.
    """
    gen = generator or _guess_generator(pattern)
    if gen == "jekyll":
        pattern = JEKYLL_STYLES.get(pattern, pattern)
    when = _parse_date(date)

    def need_date() -> dt.datetime:
        if when is None:
            raise _NeedsDate
        return when

    date_tokens: dict[str, Callable[[], str]] = {
        "year": lambda: f"{need_date().year:04d}",
        "month": lambda: f"{need_date().month:02d}",
        "day": lambda: f"{need_date().day:02d}",
        "i_month": lambda: str(need_date().month),
        "i_day": lambda: str(need_date().day),
        "hour": lambda: f"{need_date().hour:02d}",
        "minute": lambda: f"{need_date().minute:02d}",
        "second": lambda: f"{need_date().second:02d}",
    }
    tokens: dict[str, Callable[[], str]]
    if gen == "jekyll":
        name_slug = slug or _FILENAME_DATE.sub("", _stem(filename)[1])
        tokens = {
            **date_tokens,
            "short_year": lambda: f"{need_date().year % 100:02d}",
            "y_day": lambda: f"{need_date().timetuple().tm_yday:03d}",
            "short_month": lambda: _MONTHS[need_date().month - 1][:3],
            "long_month": lambda: _MONTHS[need_date().month - 1],
            "short_day": lambda: _DAYS[need_date().weekday()][:3],
            "long_day": lambda: _DAYS[need_date().weekday()],
            "week": lambda: f"{need_date().isocalendar()[1]:02d}",
            "w_year": lambda: str(need_date().isocalendar()[0]),
            "w_day": lambda: str(need_date().isoweekday()),
            "title": lambda: jekyll_slugify(name_slug, pretty=True, cased=True),
            "slug": lambda: jekyll_slugify(name_slug),
            "categories": lambda: "/".join(dict.fromkeys(c.lower() for c in categories)),
            "output_ext": lambda: ".html",
        }
        # Jekyll replaces known placeholders wherever they occur, longest first.
        token_re = re.compile(":(" + "|".join(sorted(tokens, key=len, reverse=True)) + ")")
    elif gen == "hexo":
        hexo_title = slug or _hexo_title_from_filename(filename, new_post_name)
        tokens = {
            **date_tokens,
            "title": lambda: hexo_title,
            "name": lambda: hexo_title.rsplit("/", 1)[-1],
            "post_title": lambda: hexo_slugize(title, lower=True),
            "category": lambda: "/".join(hexo_slugize(c) for c in categories)
            or "uncategorized",
            "lang": lambda: lang or "",
        }
        token_re = re.compile(r":(\w+)", re.ASCII)
    else:
        file_part = _hugo_filename(filename, lang)
        sections = [s for s in section.split("/") if s]
        tokens = {
            **{k: date_tokens[k] for k in ("year", "month", "day")},
            "monthname": lambda: _MONTHS[need_date().month - 1].lower(),
            "weekday": lambda: str(need_date().isoweekday() % 7),
            "weekdayname": lambda: _DAYS[need_date().weekday()].lower(),
            "yearday": lambda: str(need_date().timetuple().tm_yday),
            "section": lambda: hugo_urlize(sections[0]) if sections else "",
            "sections": lambda: "/".join(hugo_urlize(s) for s in sections),
            "title": lambda: hugo_urlize(title),
            "slug": lambda: hugo_urlize(slug) if slug else hugo_urlize(title),
            "filename": lambda: file_part,
            "contentbasename": lambda: file_part,
            "slugorfilename": lambda: hugo_urlize(slug) if slug else file_part,
            "slugorcontentbasename": lambda: hugo_urlize(slug) if slug else file_part,
        }
        token_re = re.compile(r":(\w+)(\[[^\]]*\])?", re.ASCII)

    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if gen == "hugo" and name == "sections" and m.group(2):
            return _slice_sections(section, m.group(2)) or m.group(0)
        make = tokens.get(name)
        return m.group(0) if make is None else make()

    try:
        path = token_re.sub(replace, pattern)
    except _NeedsDate:
        return None
    if lang and gen in ("hugo", "jekyll"):
        path = f"/{lang}/{path}"
    path = re.sub(r"/{2,}", "/", "/" + path)
    return path


def _slice_sections(section: str, spec: str) -> str | None:
    """Hugo's :sections[last], :sections[1], :sections[1:] ... ; None if not understood."""
    parts = [hugo_urlize(s) for s in section.split("/") if s]
    inner = spec[1:-1].strip()
    if inner == "last":
        return parts[-1] if parts else ""
    m = re.fullmatch(r"(\d*)(:?)(\d*)", inner)
    if not m or not (m[1] or m[3]):
        return None
    if not m[2]:
        i = int(m[1])
        return parts[i] if i < len(parts) else ""
    start = int(m[1]) if m[1] else None
    end = int(m[3]) if m[3] else None
    return "/".join(parts[start:end])


