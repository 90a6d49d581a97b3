"""`load_corpus`: every post of a blog, the rejected files, the drafts and the pages
that are not posts."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..front_matter import PostError
from ..sites import Site
from .cache import PostCache, parse_file
from .fields import NotAPost
from .files import markdown_files_in, read_post_bytes
from .keys import _assign_keys, _file_languages, _with_languages
from .posts import (
    CATEGORY_FIELDS,
    PEOPLE_TAXONOMIES,
    TAG_FIELDS,
    Corpus,
    FileNote,
    Post,
    display_forms,
    tag_key,
)

log = logging.getLogger(__name__)


def load_corpus(root: str | os.PathLike[str], site: Site | None = None,
                taxonomy: Sequence[str] | None = None, cache: PostCache | None = None
                ) -> Corpus:
    """Read every Markdown post under `root` (a site's: under its posts folders). Never
    raises for a bad file.

    taxonomy: the front-matter keys of the tags (merged); default: the site config's
    taxonomies when it declares some (those that name people, `authors`..., aside), else
    the first of TAG_FIELDS present, else, when no post has those, CATEGORY_FIELDS.
    cache: where the files parsed before are looked up (by their bytes) and the others
    remembered; the result is the same with or without it."""
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
    parse = cache.parse if cache is not None else parse_file
    parsed: list[Post] = []
    for rel in rels:
        path = files[rel]
        if rel.rsplit("/", 1)[-1].rsplit(".", 1)[0] == "_index":
            corpus.not_posts.append(FileNote(rel, "list page (_index), not a post"))
            continue
        try:
            post, draft, warnings = parse(read_post_bytes(path, root_real), rel, taxonomy,
                                          languages)
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
