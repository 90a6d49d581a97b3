"""Jekyll and Hexo: `_config.yml` with `_posts/` or `source/_posts/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import (
    _checked_base_url,
    _ConfigError,
    _depends_on,
    _is_dir,
    _is_file,
    _join_base,
    _load_config,
    _package_json,
    _safe_rel_dir,
    _text_list,
    _Values,
)
from .site import Site

_JEKYLL_CONFIGS = ("_config.yml", "_config.yaml")
JEKYLL_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
HEXO_DEFAULT_PERMALINK = ":year/:month/:day/:title/"
HEXO_DEFAULT_NEW_POST_NAME = ":title.md"


def _config_languages(values: _Values, list_key: str, default_key: str | None
                      ) -> tuple[tuple[str, ...], str | None]:
    """Languages from a string or list value (Hexo `language`, jekyll-polyglot)."""
    raw = values.get(list_key, (str, list), list_key)
    langs = [raw] if isinstance(raw, str) else _text_list(raw)
    default = values.get(default_key, str, default_key) if default_key else None
    langs = [x.strip() for x in langs if x.strip()]
    if default and default.strip():
        default = default.strip()
        langs = [default] + [x for x in langs if x != default]
    langs = list(dict.fromkeys(langs))
    return (tuple(langs) if len(langs) > 1 else ()), (langs[0] if langs else None)


def _detect_jekyll(root: Path, root_str: str, posts: str, data: dict[str, Any],
                   read: list[str], rel: str, warnings: list[str]) -> Site:
    values = _Values(data, {}, warnings, rel)
    url = values.get("url", str, "url")
    baseurl = values.get("baseurl", str, "baseurl")
    base_url = _checked_base_url(_join_base(url, baseurl), rel, "url + baseurl", warnings)
    permalink = values.get("permalink", str, "permalink") or "date"
    pattern = JEKYLL_STYLES.get(permalink, permalink)
    data_dir = _safe_rel_dir(values.get("data_dir", str, "data_dir") or "_data") or "_data"
    if "languages" in data:  # jekyll-polyglot
        languages, default_lang = _config_languages(values, "languages", "default_lang")
    else:
        languages, default_lang = _config_languages(values, "lang", None)
    # Jekyll also reads `_posts` folders one level down (`blog/_posts`: category "blog").
    posts_dirs = [posts] + sorted(
        f"{p.name}/_posts" for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "_posts").is_dir())
    return Site(
        root=root_str, generator="jekyll", config_files=tuple(read),
        posts_dirs=tuple(dict.fromkeys(posts_dirs)), base_url=base_url,
        permalinks={"*": pattern}, taxonomies=None, languages=languages,
        default_language=default_lang, language_dirs={}, data_dir=f"{data_dir}/blogrec",
        warnings=tuple(warnings),
    )


def _hexo_base_url(url: str | None, root_path: str | None) -> str | None:
    """Hexo's `url` usually already ends with `root` (url: http://x/blog, root: /blog/)."""
    sub = (root_path or "/").strip().strip("/")
    base = (url or "").strip().rstrip("/")
    if sub and not base.endswith("/" + sub):
        return _join_base(base, sub) if base else "/" + sub
    return base or None


def _detect_hexo(root: Path, root_str: str, source_dir: str, data: dict[str, Any],
                 read: list[str], rel: str, warnings: list[str], package_read: bool) -> Site:
    values = _Values(data, {}, warnings, rel)
    base = _hexo_base_url(values.get("url", str, "url"), values.get("root", str, "root"))
    base_url = _checked_base_url(base, rel, "url + root", warnings)
    permalink = values.get("permalink", str, "permalink") or HEXO_DEFAULT_PERMALINK
    new_post_name = values.get("new_post_name", str, "new_post_name") or \
        HEXO_DEFAULT_NEW_POST_NAME
    languages, default_lang = _config_languages(values, "language", None)
    if not _is_dir(root, f"{source_dir}/_posts"):
        warnings.append(f"{source_dir}/_posts/: folder not found; there are no posts to "
                        f"read there")
    if default_lang == "default":  # Hexo's placeholder for "no language set"
        default_lang = None
    return Site(
        root=root_str, generator="hexo",
        config_files=tuple(read + (["package.json"] if package_read else [])),
        posts_dirs=(f"{source_dir}/_posts",), base_url=base_url,
        permalinks={"*": permalink}, taxonomies=None, languages=languages,
        default_language=default_lang, language_dirs={},
        data_dir=f"{source_dir}/_data/blogrec", warnings=tuple(warnings),
        content_dir=source_dir,
        new_post_name=new_post_name,
    )


def _detect_jekyll_or_hexo(root: Path, root_str: str) -> Site | None:
    """Hexo when `source/_posts/` exists or package.json depends on hexo; Jekyll when
    `_posts/` exists; None (not this generator) when there is neither."""
    rel = next((c for c in _JEKYLL_CONFIGS if _is_file(root, c)), None)
    if rel is None:
        return None
    warnings: list[str] = []
    failure = None
    try:
        data, read = _load_config(root, rel), [rel]
    except _ConfigError as exc:
        data, read, failure = {}, [], str(exc)
    raw_source = data.get("source_dir")
    source_dir = (_safe_rel_dir(raw_source) if isinstance(raw_source, str) else None) or "source"
    hexo = _is_dir(root, f"{source_dir}/_posts")
    package_read = False
    if not hexo and _is_file(root, "package.json"):
        package_read = hexo = _depends_on(_package_json(root, warnings), "hexo")
    if hexo:
        if failure:
            warnings.append(f"{rel}: {failure}; using Hexo's defaults")
        return _detect_hexo(root, root_str, source_dir, data, read, rel, warnings,
                            package_read=package_read)
    collections = data.get("collections_dir")
    prefix = _safe_rel_dir(collections) if isinstance(collections, str) else None
    posts = f"{prefix}/_posts" if prefix and prefix != "." else "_posts"
    if not _is_dir(root, posts):
        return None
    if failure:
        warnings.append(f"{rel}: {failure}; using Jekyll's defaults")
    return _detect_jekyll(root, root_str, posts, data, read, rel, warnings)


