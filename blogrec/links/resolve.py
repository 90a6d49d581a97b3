"""Which post a link's target reaches: relative and absolute URLs of the blog's hosts,
permalinks, aliases, date + slug patterns, Hugo ref/relref."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import unquote

from ..corpus import Post
from .extract import _extract
from .found import _Found
from .html import _SCHEME
from .templates import _TEMPLATE, _template_call

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

