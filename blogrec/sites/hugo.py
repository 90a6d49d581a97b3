"""Hugo: its config files and folders, languages, permalinks, taxonomies, content dirs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import (
    _checked_base_url,
    _ConfigError,
    _is_dir,
    _is_file,
    _kind,
    _load_config,
    _merge,
    _safe_rel_dir,
    _text_list,
    _Values,
)
from .site import Site

_HUGO_ROOT_FILES = tuple(f"{name}.{ext}" for name in ("hugo", "config")
                         for ext in ("toml", "yaml", "yml", "json"))
_CONFIG_EXTS = (".toml", ".yaml", ".yml", ".json")
# The section folders that hold a blog's posts, in the order they are preferred.
_HUGO_POST_SECTIONS = ("posts", "post", "blog")
# Folders of a Hugo project that make a root `config.*` Hugo's rather than some tool's.
_HUGO_MARKERS = ("content", "archetypes", "layouts", "themes")
# Hugo reads config/_default, then the environment's folder; `hugo` builds "production".
_HUGO_CONFIG_DIRS = ("config/_default", "config/production")


def _hugo_config_dir_files(root: Path) -> list[str]:
    files: list[str] = []
    for rel_dir in _HUGO_CONFIG_DIRS:
        folder = root / rel_dir
        if folder.is_dir():
            files.extend(f"{rel_dir}/{p.name}" for p in sorted(folder.iterdir())
                         if p.suffix.lower() in _CONFIG_EXTS and not p.is_dir())
    return files


def _hugo_root_file(root: Path) -> str | None:
    return next((name for name in _HUGO_ROOT_FILES if _is_file(root, name)), None)


def _is_hugo(root: Path, *, weak: bool) -> bool:
    """Strong: hugo.* or a config/_default folder. Weak: config.* plus Hugo's folders."""
    if not weak:
        return any(_is_file(root, n) for n in _HUGO_ROOT_FILES if n.startswith("hugo.")) or (
            _is_dir(root, "config/_default") and bool(_hugo_config_dir_files(root)))
    return (any(_is_file(root, n) for n in _HUGO_ROOT_FILES)
            and any(_is_dir(root, d) for d in _HUGO_MARKERS))


def _hugo_dir_file_placement(rel: str) -> list[str]:
    """Where a config-dir file's table goes: [] for the root (hugo.toml, config.toml),
    ["params"] for params.toml, ["languages", "en", "menus"] for menus.en.toml."""
    name = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    base, _, lang = name.partition(".")
    if base in ("hugo", "config"):
        return ["languages", lang] if lang else []
    return ["languages", lang, base] if lang else [base]


def _read_hugo_config(root: Path, warnings: list[str]) -> tuple[dict[str, Any], dict[str, str],
                                                                list[str], str]:
    """The merged, lowercased config, the file each top-level key came from, the files
    read and the file to name in warnings when the origin is unknown."""
    root_file = _hugo_root_file(root)
    candidates: list[str] = []
    if root_file:
        candidates.append(root_file)
        for other in _HUGO_ROOT_FILES:
            if other != root_file and _is_file(root, other):
                warnings.append(f"{other}: not read; Hugo uses {root_file}, the first of "
                                f"hugo.toml, hugo.yaml, hugo.json, config.toml... it finds")
    dir_files = _hugo_config_dir_files(root)
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    read: list[str] = []
    for rel in candidates + dir_files:
        try:
            data = _load_config(root, rel, lower_keys=True)
        except _ConfigError as exc:
            alone = len(candidates + dir_files) == 1
            warnings.append(f"{rel}: {exc}; "
                            + ("using Hugo's defaults" if alone else "the file is ignored"))
            continue
        placement = [] if rel == root_file else _hugo_dir_file_placement(rel)
        for key in reversed(placement):
            data = {key: data}
        _merge(merged, data)
        for key in data:
            origin[key] = rel
        read.append(rel)
    return merged, origin, read, root_file or (dir_files[0] if dir_files else "hugo.toml")


def _hugo_languages(values: _Values, default_lang: str | None
                    ) -> tuple[tuple[str, ...], str | None, dict[str, dict[str, Any]]]:
    """(languages, default language, each language's table) from [languages]."""
    table = values.get("languages", dict, "languages")
    if not table:
        return (), default_lang, {}
    disabled = {v.lower() for v in _text_list(
        values.get("disablelanguages", list, "disableLanguages"))}
    langs: dict[str, dict[str, Any]] = {}
    for code, conf in table.items():
        if not isinstance(conf, dict):
            values.warn("languages", f"languages.{code} is {_kind(conf)}, not a table; ignored")
            continue
        if code in disabled or conf.get("disabled") is True:
            continue
        langs[code.lower()] = conf

    def weight(code: str) -> tuple[int, int, str]:
        w = langs[code].get("weight")
        w = w if isinstance(w, int) and not isinstance(w, bool) else 0
        return (w == 0, w, code)  # Hugo sorts weight 0 (unset) after the weighted ones

    ordered = sorted(langs, key=weight)
    if not ordered:
        return (), default_lang, {}
    if default_lang is None or default_lang not in langs:
        if default_lang is not None:
            values.warn("defaultcontentlanguage",
                        f"defaultContentLanguage {default_lang!r} is not one of the "
                        f"languages ({', '.join(ordered)}); using {ordered[0]!r}")
        default_lang = ordered[0]
    ordered.remove(default_lang)
    ordered.insert(0, default_lang)
    return (tuple(ordered) if len(ordered) > 1 else ()), default_lang, langs


def _hugo_permalinks(values: _Values) -> dict[str, str]:
    table = values.get("permalinks", dict, "permalinks")
    if not table:
        return {}
    out: dict[str, str] = {}
    page: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, str):
            out[key] = value  # the pre-0.112 form: section = pattern, for pages
        elif isinstance(value, dict) and key == "page":
            for section, pattern in value.items():
                if isinstance(pattern, str):
                    page[section] = pattern
                else:
                    values.warn("permalinks", f"permalinks.page.{section} is {_kind(pattern)}, "
                                              f"not a string; ignored")
        elif isinstance(value, dict) and key in ("section", "term", "taxonomy"):
            continue  # list pages, not posts
        else:
            values.warn("permalinks", f"permalinks.{key} is {_kind(value)}, not a string; "
                                      f"ignored")
    out.update(page)  # [permalinks.page] is the newer, more specific form
    return out


def _hugo_taxonomies(values: _Values, lang_conf: dict[str, Any] | None
                     ) -> tuple[str, ...] | None:
    table = values.get("taxonomies", dict, "taxonomies")
    if table is None and lang_conf is not None and isinstance(lang_conf.get("taxonomies"), dict):
        table = lang_conf["taxonomies"]
    if table is None:
        return None
    plurals: list[str] = []
    for singular, plural in table.items():
        if isinstance(plural, str) and plural.strip():
            plurals.append(plural.strip().lower())
        else:
            values.warn("taxonomies", f"taxonomies.{singular} is {_kind(plural)}, not a "
                                      f"string; ignored")
    return tuple(dict.fromkeys(plurals))


def _hugo_content_dir(values: _Values, raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        values.warn(where.split(".", 1)[0],
                    f"{where} is {_kind(raw)}, not a string; ignored")
        return None
    safe = _safe_rel_dir(raw)
    if safe is None:
        values.warn(where.split(".", 1)[0],
                    f"{where} {raw!r} is not a folder inside the site; ignored")
    return safe


def _hugo_posts_dirs(root: Path, content_dirs: Sequence[str]) -> list[str]:
    dirs: list[str] = []
    for content in content_dirs:
        sections = [f"{content}/{s}" for s in _HUGO_POST_SECTIONS
                    if _is_dir(root, f"{content}/{s}")]
        dirs.extend(sections or [content])
    return list(dict.fromkeys(dirs))


def _hugo_mounted_language_dirs(root: Path, values: _Values, content_dir: str,
                                languages: Sequence[str]) -> dict[str, str]:
    """lang -> content folder of a site that mounts one folder per language: the
    `module.mounts` with a `lang` (`source: content/es, target: content, lang: es`), else,
    when the default language has one, the `content/<lang>/` folders (the layout of
    Docsy sites, whose mounts often live in a file outside the config)."""
    out: dict[str, str] = {}
    module = values.get("module", dict, "module") or {}
    mounts = module.get("mounts") if isinstance(module, dict) else None
    for mount in mounts if isinstance(mounts, list) else ():
        if not isinstance(mount, dict):
            continue
        lang, source = mount.get("lang"), mount.get("source")
        target = mount.get("target")
        if isinstance(lang, str) and isinstance(source, str) and target == "content" \
                and lang.lower() in languages and (folder := _safe_rel_dir(source)):
            out.setdefault(lang.lower(), folder)
    if out:
        return out
    if not _is_dir(root, f"{content_dir}/{languages[0]}"):
        return {}
    return {code: f"{content_dir}/{code}" for code in languages
            if _is_dir(root, f"{content_dir}/{code}")}


def _detect_hugo(root: Path, root_str: str) -> Site:
    warnings: list[str] = []
    data, origin, read, fallback = _read_hugo_config(root, warnings)
    values = _Values(data, origin, warnings, fallback)

    raw_base = values.get("baseurl", str, "baseURL")
    base_url = _checked_base_url(raw_base, values.file("baseurl"), "baseURL", warnings)
    content_dir = _hugo_content_dir(values, data.get("contentdir"), "contentDir") or "content"
    data_dir = _hugo_content_dir(values, data.get("datadir"), "dataDir") or "data"

    explicit_lang = values.get("defaultcontentlanguage", str, "defaultContentLanguage")
    default_lang = explicit_lang.strip().lower() if explicit_lang else None
    languages, default_lang, lang_confs = _hugo_languages(values, default_lang)
    if default_lang is None:
        code = values.get("languagecode", str, "languageCode")
        default_lang = code.strip().lower() if code else None

    language_dirs: dict[str, str] = {}
    for code, conf in lang_confs.items():
        folder = _hugo_content_dir(values, conf.get("contentdir"),
                                   f"languages.{code}.contentDir")
        if folder:
            language_dirs[code] = folder
    order = list(languages or lang_confs)
    mounted = {} if language_dirs or not languages else \
        _hugo_mounted_language_dirs(root, values, content_dir, languages)
    if mounted:  # a language without a mounted folder has no pages
        language_dirs = mounted
        content_dirs = [mounted[code] for code in order if code in mounted]
    elif language_dirs:
        content_dirs = [language_dirs.get(code, content_dir) for code in order]
    else:
        content_dirs = [content_dir]
    for folder in dict.fromkeys(content_dirs):
        if not _is_dir(root, folder):
            warnings.append(f"{folder}/: folder not found; there are no posts to read there")

    taxonomies = _hugo_taxonomies(values, lang_confs.get(default_lang or ""))
    return Site(
        root=root_str, generator="hugo", config_files=tuple(read),
        posts_dirs=tuple(_hugo_posts_dirs(root, content_dirs)),
        base_url=(base_url or "").rstrip("/") or None,
        permalinks=_hugo_permalinks(values), taxonomies=taxonomies,
        languages=languages, default_language=default_lang, language_dirs=language_dirs,
        data_dir=f"{data_dir}/blogrec", warnings=tuple(warnings), content_dir=content_dir,
    )


