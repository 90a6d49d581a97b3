"""Reading a blog: Markdown files with YAML front matter -> `Post` records.

Supports the front-matter conventions of Hexo, Jekyll, Hugo and Zenn. A file that
cannot be used is never fatal: it becomes a `FileNote` (path + reason) and the
rest of the blog is read.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import frontmatter
from dateutil import parser as date_parser

from .front_matter import (
    MAX_FRONT_MATTER_CHARS,
    PostError,
    load_front_matter,
    load_toml_front_matter,
    split_toml_front_matter,
)
from .markup import extract_headings, strip_inline
from .sites import Site, expand_permalink
from .urls import safe_url, url_problem

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = (".md", ".markdown")
# Front-matter keys read as a post's tags, first present wins; a blog none of whose posts
# has any of them keeps its tags in categories (CATEGORY_FIELDS) instead.
TAG_FIELDS = ("tags", "tag", "topics")
CATEGORY_FIELDS = ("categories", "category")
# Taxonomies a site config may declare that name people, not topics: not tags by default.
PEOPLE_TAXONOMIES = frozenset({"authors", "author", "contributors", "contributor", "people",
                               "speakers", "maintainers"})
_LANG_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?", re.IGNORECASE)
# Bounds that keep one hostile file from eating the batch's time or memory.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TAGS = 1000
MAX_FIELD_CHARS = 10_000
_FILENAME_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-")
@dataclass(frozen=True)
class Post:
    """One usable post. `tags` hold the blog-wide display spelling of each tag."""

    path: str  # relative to the blog root, POSIX separators
    slug: str
    title: str
    date: str | None  # ISO 8601: "2021-09-01" or "2021-09-01T10:00:00[+09:00]"
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    lede: str = ""
    headings: tuple[str, ...] = ()
    body: str = ""
    url: str | None = None
    # The tags as the front matter spells them (`tags` is merged across the blog);
    # the tag clean-up report lists the spellings.
    written_tags: tuple[str, ...] = ()
    # Other URLs of the post (`aliases`, `redirect_from`): links to them reach it too.
    aliases: tuple[str, ...] = ()
    lang: str | None = None  # its language, when the blog says (file name, folder, field)
    # What its translations share (Hugo's translationKey, else the path without the
    # language); None on a blog with one language.
    translation_key: str | None = None
    # The slug its page has (front-matter slug, else the file name's) when its key
    # `slug` is another one because a post of another language or URL had it first.
    page_slug: str | None = None


@dataclass(frozen=True)
class FileNote:
    """A file the build rejected, skipped or warns about, and why."""

    path: str
    reason: str


@dataclass
class Corpus:
    """The usable posts (sorted by path), the rejected files and the skipped drafts."""

    root: str
    posts: list[Post] = field(default_factory=list)
    rejected: list[FileNote] = field(default_factory=list)
    skipped: list[FileNote] = field(default_factory=list)
    warnings: list[FileNote] = field(default_factory=list)
    # the front-matter keys the tags were read from
    taxonomy: tuple[str, ...] = ()
    # pages that are not posts (list pages, headless bundles), and why
    not_posts: list[FileNote] = field(default_factory=list)

    @property
    def slugs(self) -> list[str]:
        return [p.slug for p in self.posts]


# ---------------------------------------------------------------- tags


def tag_key(tag: str) -> str:
    """Matching form of a tag: `JavaScript`, ` javascript ` and `ＪａｖａＳｃｒｉｐｔ` are one."""
    return " ".join(unicodedata.normalize("NFKC", tag).casefold().split())


def tag_sets(posts: Iterable[Post]) -> list[frozenset[str]]:
    """Each post's tags as a set of `tag_key`s."""
    return [frozenset(tag_key(t) for t in p.tags) for p in posts]


def dice(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    """Dice coefficient of two tag sets; 0 when both are empty."""
    if not a and not b:
        return 0.0
    return 2.0 * len(a & b) / (len(a) + len(b))


def display_forms(tag_lists: Iterable[Iterable[str]]) -> dict[str, str]:
    """Map each tag key to its most frequent spelling (ties: the smallest string)."""
    counts: dict[str, Counter[str]] = {}
    for tags in tag_lists:
        for t in tags:
            counts.setdefault(tag_key(t), Counter())[t.strip()] += 1
    return {
        key: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for key, c in counts.items()
    }


# ---------------------------------------------------------------- markdown text
# (what the reader needs: inline text and headings; cleaning for features is in `text`)


# ---------------------------------------------------------------- front matter values


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


# ---------------------------------------------------------------- one file


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


# ---------------------------------------------------------------- a whole blog


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


def find_markdown_files(root: Path) -> list[Path]:
    """Markdown files under root, sorted by relative path; hidden entries are skipped."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.lower().endswith(MARKDOWN_SUFFIXES) and not name.startswith("."):
                found.append(Path(dirpath) / name)
    found.sort(key=lambda p: p.relative_to(root).as_posix())
    return found


def markdown_files_in(root: Path, folders: Sequence[str] = (".",)) -> list[tuple[str, Path]]:
    """(path relative to root, path) of the Markdown files under each of `folders` (of
    root), each once, sorted by relative path."""
    files: dict[str, Path] = {}
    for folder in folders:
        for path in find_markdown_files(root / folder):
            files.setdefault(path.relative_to(root).as_posix(), path)
    return sorted(files.items())


def read_post_bytes(path: Path, root_real: Path) -> bytes:
    """The bytes of a post file, or PostError: broken or escaping symlinks, non-regular
    files (FIFOs, devices: reading them could block or never end) and files over
    MAX_FILE_BYTES are refused unread."""
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:  # was reported as "symlink loop?" too, which misled
        raise PostError("cannot resolve path: broken symlink (its target does not exist)"
                        ) from None
    except (OSError, RuntimeError) as exc:
        raise PostError(f"cannot resolve path ({exc.__class__.__name__}: symlink loop?)") from None
    if not real.is_relative_to(root_real):
        raise PostError("symlink points outside the blog directory")
    if not real.is_file():
        raise PostError("not a regular file")
    size = real.stat().st_size
    if size > MAX_FILE_BYTES:
        raise PostError(f"file is too large ({size} bytes; limit {MAX_FILE_BYTES})")
    try:
        return real.read_bytes()
    except OSError as exc:
        raise PostError(f"cannot read file: {exc.strerror or exc}") from None


def _file_languages(files: Sequence[str]) -> set[str]:
    """Language codes that file names end in (`post.es.md`) on a blog with no site
    config: a code counts when another file has the same name without it."""
    stems = {f.rsplit(".", 1)[0] for f in files}
    found: set[str] = set()
    for stem in stems:
        base, _, suffix = stem.rpartition(".")
        if base and _LANG_CODE.fullmatch(suffix) and (
                base in stems or any(s.startswith(base + ".") and s != stem for s in stems)):
            found.add(suffix.casefold())
    return found


def _identity(post: Post, site: Site | None) -> str:
    """Where a post is served, as far as blogrec can tell: its `url`, else the URL its
    site's permalink pattern gives, else its folder, file-name date and slug (two posts
    of one identity are one page: the later is rejected)."""
    if post.url:
        return post.url.strip("/").casefold()
    stem = post.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    folder = post.path.rsplit("/", 1)[0] if "/" in post.path else ""
    if site is not None and site.permalinks:
        section = folder.split("/")[-1] if folder else ""
        pattern = site.permalinks.get(section) or site.permalinks.get("*")
        if pattern:
            url = expand_permalink(pattern, slug=post.slug, title=post.title, date=post.date,
                                   section=section, filename=post.path.rsplit("/", 1)[-1],
                                   categories=post.categories, generator=site.generator,
                                   new_post_name=site.new_post_name)
            if url:
                return f"{post.lang or ''}|{url.strip('/').casefold()}"
    dated = m[0] if (m := _FILENAME_DATE.match(stem)) else ""
    return f"{post.lang or ''}|{folder.casefold()}|{dated}|{post.slug.casefold()}"


def _assign_keys(posts: list[Post], corpus: Corpus, site: Site | None,
                 default_language: str | None) -> list[Post]:
    """Each post's key in the site JSON (its `slug` from here on): its slug when no other
    post has it; a translation in another language than the default is keyed
    `lang/slug`; a later post whose slug is taken but which is served at another URL
    (a dated file name, another section) is keyed by its file name, or its path. Only
    two posts at one URL are a collision: the later (by path) is rejected."""
    seen_identity: dict[str, str] = {}
    kept: list[Post] = []
    for post in posts:
        ident = _identity(post, site)
        if ident in seen_identity:
            corpus.rejected.append(FileNote(
                post.path, f"duplicate slug {post.slug!r} (already used by "
                           f"{seen_identity[ident]}, at the same URL)"))
            continue
        seen_identity[ident] = post.path
        kept.append(post)
    taken: dict[str, str] = {}
    keys: dict[int, str] = {}
    # the default language's versions claim their slugs first, whatever the file order
    # (`x.es.md` sorts before `x.md`)
    order = sorted(range(len(kept)), key=lambda i: bool(kept[i].lang)
                   and kept[i].lang != default_language)
    for i in order:
        post = kept[i]
        key = post.slug
        if post.lang and post.lang != default_language and key.casefold() in taken:
            key = f"{post.lang}/{post.slug}"
        if key.casefold() in taken:
            stem = post.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            key = stem if stem.casefold() not in taken else post.path.rsplit(".", 1)[0]
            corpus.warnings.append(FileNote(
                post.path, f"slug {post.slug!r} is taken by {taken[post.slug.casefold()]}; "
                           f"keyed as {key!r}"))
        taken.setdefault(key.casefold(), post.path)
        keys[i] = key
    return [post if keys[i] == post.slug else replace(post, slug=keys[i], page_slug=post.slug)
            for i, post in enumerate(kept)]


def _with_languages(posts: list[Post], site: Site | None) -> list[Post]:
    """Each post's language (its field, file name, else the language folder it is in,
    else the site's default) and what its translations share."""
    dirs = sorted(((d.rstrip("/") + "/", lang) for lang, d in
                   (site.language_dirs.items() if site else ())), reverse=True)
    default = site.default_language if site and site.languages else None
    out = []
    for post in posts:
        lang, rest = post.lang, post.path
        for folder, folder_lang in dirs:
            if post.path.startswith(folder):
                lang, rest = lang or folder_lang, post.path[len(folder):]
                break
        lang = lang or default
        if lang is None:
            out.append(post)
            continue
        stem, _, ext = rest.rpartition(".")
        base, _, suffix = stem.rpartition(".")
        if base and suffix.casefold() == lang:
            stem = base
        key = post.translation_key or f"path:{stem}"
        out.append(replace(post, lang=lang, translation_key=key))
    if not any(p.lang for p in out) or len({p.lang for p in out}) == 1 and not (
            site and len(site.languages) > 1):
        return [replace(p, lang=None, translation_key=None) if p.lang else p for p in out]
    return out


def load_corpus(root: str | os.PathLike[str], site: Site | None = None,
                taxonomy: Sequence[str] | None = None) -> Corpus:
    """Read every Markdown post under `root` (a site's: under its posts folders). Never
    raises for a bad file.

    taxonomy: the front-matter keys of the tags (merged); default: the site config's
    taxonomies when it declares some (those that name people, `authors`..., aside), else
    the first of TAG_FIELDS present, else, when no post has those, CATEGORY_FIELDS."""
    root_path = Path(root)
    if not root_path.is_dir():
        raise FileNotFoundError(f"posts directory not found: {root_path}")
    root_real = root_path.resolve()
    corpus = Corpus(root=str(root_path))
    if taxonomy is None and site is not None and site.taxonomies:
        taxonomy = tuple(t for t in site.taxonomies if t not in PEOPLE_TAXONOMIES) or None
    files = dict(markdown_files_in(root_path, site.posts_dirs if site is not None
                                   else (".",)))
    rels = list(files)
    languages = (set(site.languages) if site is not None and site.languages
                 else _file_languages(rels))
    parsed: list[Post] = []
    for rel in rels:
        path = files[rel]
        if rel.rsplit("/", 1)[-1].rsplit(".", 1)[0] == "_index":
            corpus.not_posts.append(FileNote(rel, "list page (_index), not a post"))
            continue
        try:
            post, draft, warnings = parse_post(decode(read_post_bytes(path, root_real)), rel,
                                               taxonomy, tuple(languages))
        except NotAPost as exc:
            corpus.not_posts.append(FileNote(rel, str(exc)))
            continue
        except PostError as exc:
            corpus.rejected.append(FileNote(rel, str(exc)))
            continue
        except RecursionError:
            corpus.rejected.append(FileNote(rel, "front matter is nested too deeply"))
            continue
        corpus.warnings.extend(FileNote(rel, w) for w in warnings)
        if draft:
            corpus.skipped.append(FileNote(rel, "draft (draft: true or published: false)"))
            continue
        parsed.append(post)

    corpus.taxonomy = tuple(taxonomy) if taxonomy is not None else TAG_FIELDS
    if taxonomy is None and parsed and not any(p.tags for p in parsed) and any(
            p.categories for p in parsed):
        # this blog keeps its tags in categories (many Jekyll and Hugo blogs do)
        parsed = [replace(p, tags=p.categories) for p in parsed]
        corpus.taxonomy = CATEGORY_FIELDS
    parsed = _with_languages(parsed, site)
    default = site.default_language if site is not None else None
    unique = _assign_keys(parsed, corpus, site, default)

    # One spelling per tag across the blog: the most frequent one.
    forms = display_forms(p.tags for p in unique)
    for post in unique:
        tags = tuple(dict.fromkeys(forms[tag_key(t)] for t in post.tags))
        corpus.posts.append(replace(post, tags=tags, written_tags=post.tags))
    corpus.rejected.sort(key=lambda r: r.path)
    for r in corpus.rejected:
        log.warning("rejected %s: %s", r.path, r.reason)
    return corpus
