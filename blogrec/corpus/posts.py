"""A blog's records: `Post`, `FileNote`, `Corpus`, and how tags are matched."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

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


def tag_key(tag: str) -> str:
    """Matching form of a tag: `JavaScript`, ` javascript ` and `ＪａｖａＳｃｒｉｐｔ` are one."""
    return " ".join(unicodedata.normalize("NFKC", tag).casefold().split())


def tag_sets(posts: Iterable[Post]) -> list[frozenset[str]]:
    """Each post's tags as a set of `tag_key`s."""
    return [frozenset(tag_key(t) for t in p.tags) for p in posts]


def display_forms(tag_lists: Iterable[Iterable[str]]) -> dict[str, str]:
    """Map each tag key to its most frequent spelling (ties: the smallest string)."""
    counts: dict[str, Counter[str]] = {}
    for tags in tag_lists:
        for t in tags:
            counts.setdefault(tag_key(t), Counter())[t.strip()] += 1
    return {
        key: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for key, c in counts.items()
    }

