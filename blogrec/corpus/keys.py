"""Each post's language, its translations' shared key, and its key in the site JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..sites import Site, expand_permalink
from .posts import _FILENAME_DATE, _LANG_CODE, Corpus, FileNote, Post


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


