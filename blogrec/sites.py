"""Which static-site generator a blog root uses, and what its config says about posts.

`detect_site(root)` looks at the files in a site root (Hugo, Jekyll, Hexo, Astro, Zenn, or
a plain folder of posts) and reads the few config values blogrec needs: where the posts
are, the base URL, permalink patterns, taxonomies and languages, and where blogrec's JSON
goes. `expand_permalink` turns a permalink pattern into a post's URL path the way the
generator does.

Configs are data, never code: TOML, YAML (safe loader, alias and nesting bounds) and JSON
are parsed; Astro's JavaScript config is only searched as text. A file over 2 MB is not
read. A config that cannot be used costs a warning that names the file and the reason,
and the generator's defaults are used instead; `detect_site` never raises for a config.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import re
import stat
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .front_matter import MAX_YAML_ALIASES, MAX_YAML_DEPTH, tomllib
from .urls import url_problem

MAX_CONFIG_BYTES = 2 * 1024 * 1024
# Values in one config once YAML aliases are expanded: real configs hold a few hundred.
MAX_CONFIG_VALUES = 100_000
MAX_CONFIG_DEPTH = MAX_YAML_DEPTH

REPORTS_DIR = "blogrec-reports"
PLAIN_DATA_DIR = "blogrec-data"
MARKDOWN_SUFFIXES = (".md", ".markdown")

_CSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Site:
    """A site root as blogrec reads it. Paths are relative to `root`, POSIX separators."""

    root: str
    generator: str  # "hugo" | "jekyll" | "hexo" | "astro" | "zenn" | "folder"
    config_files: tuple[str, ...]  # the config files read (parsed), in reading order
    posts_dirs: tuple[str, ...]
    base_url: str | None  # without a trailing slash, so base_url + "/2024/05/x/" joins
    permalinks: dict[str, str]  # section -> pattern; Jekyll/Hexo {"*": pattern}
    taxonomies: tuple[str, ...] | None  # front-matter keys of the taxonomies; None: not declared
    languages: tuple[str, ...]  # default language first; () when not multilingual
    default_language: str | None
    language_dirs: dict[str, str]  # lang -> content folder, when languages have their own
    data_dir: str
    reports_dir: str = REPORTS_DIR
    warnings: tuple[str, ...] = ()
    # Hexo's `new_post_name` (how a post's file name encodes its slug); None elsewhere.
    new_post_name: str | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for the build report."""
        return {
            "generator": self.generator,
            "config_files": list(self.config_files),
            "posts_dirs": list(self.posts_dirs),
            "base_url": self.base_url,
            "permalinks": dict(self.permalinks),
            "taxonomies": None if self.taxonomies is None else list(self.taxonomies),
            "languages": list(self.languages),
            "default_language": self.default_language,
            "language_dirs": dict(self.language_dirs),
            "data_dir": self.data_dir,
            "warnings": list(self.warnings),
        }


# ------------------------------------------------------------------ reading configs


class _ConfigError(Exception):
    """A config file that cannot be used; the message is the reason."""


def _read_text(root: Path, rel: str) -> str:
    """The file's text, read only if it is a regular file of at most MAX_CONFIG_BYTES."""
    try:
        # O_NONBLOCK: opening a FIFO named like a config must not hang; fstat (after any
        # symlink) then refuses everything but a regular file, such as /dev/zero.
        fd = os.open(root / rel, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _ConfigError("not a regular file; not read")
            if info.st_size > MAX_CONFIG_BYTES:
                raise _ConfigError(f"larger than 2 MB ({info.st_size} bytes); not read")
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise _ConfigError(f"cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_CONFIG_BYTES:  # it grew after fstat
        raise _ConfigError("larger than 2 MB; not read")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _ConfigError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                           f"{exc.start})") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).replace(' in "<unicode string>",', " at")
    return text[:300] or type(exc).__name__


def _max_flow_nesting(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return deepest


_ANCHOR = re.compile(r"&[^\s\]\[{},]")


def _load_yaml(text: str) -> Any:
    if _max_flow_nesting(text) > MAX_YAML_DEPTH:
        raise _ConfigError(f"cannot parse (nested more than {MAX_YAML_DEPTH} levels deep)")
    if _ANCHOR.search(text):
        # safe_load shares aliased nodes, so a "billion laughs" file loads in no time but
        # explodes when walked: count the aliases with libyaml's event parser first.
        aliases = 0
        loader = _CSafeLoader(text)
        try:
            while loader.check_event():
                if isinstance(loader.get_event(), yaml.AliasEvent):
                    aliases += 1
                    if aliases > MAX_YAML_ALIASES:
                        raise _ConfigError(f"uses more than {MAX_YAML_ALIASES} YAML aliases; "
                                           f"not read")
        except yaml.YAMLError as exc:
            raise _ConfigError(f"cannot parse ({_one_line(exc)})") from None
        finally:
            loader.dispose()
    return yaml.load(text, Loader=_CSafeLoader)


def _parse(text: str, rel: str) -> Any:
    """Parse a config by its extension; _ConfigError with the parser's reason if it fails."""
    ext = rel.rsplit(".", 1)[-1].lower()
    try:
        if ext == "toml":
            return tomllib.loads(text)
        if ext == "json":
            return json.loads(text)
        return _load_yaml(text)
    except _ConfigError:
        raise
    except Exception as exc:
        # tomllib, json and the YAML constructors raise many types (TOMLDecodeError,
        # ValueError for a bad date, RecursionError for deep nesting, ConstructorError
        # for `!!python/object`): all are "cannot parse".
        raise _ConfigError(f"cannot parse ({_one_line(exc)})") from None


def _plain(value: Any, *, lower_keys: bool) -> Any:
    """A bounded copy of parsed data (str keys, optionally lowercased); _ConfigError when
    it is too deep, cyclic (a YAML alias to itself) or too large once aliases expand."""
    budget = [MAX_CONFIG_VALUES]

    def walk(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise _ConfigError(f"cannot parse (more than {MAX_CONFIG_VALUES} values, "
                               f"counting YAML aliases expanded)")
        if depth > MAX_CONFIG_DEPTH:
            raise _ConfigError(f"cannot parse (nested more than {MAX_CONFIG_DEPTH} levels "
                               f"deep, or an alias refers to itself)")
        if isinstance(v, dict):
            out = {}
            for k, item in v.items():
                key = k if isinstance(k, str) else str(k)
                out[key.lower() if lower_keys else key] = walk(item, depth + 1)
            return out
        if isinstance(v, (list, tuple)):
            return [walk(item, depth + 1) for item in v]
        return v

    return walk(value, 0)


def _load_config(root: Path, rel: str, *, lower_keys: bool = False) -> dict[str, Any]:
    data = _plain(_parse(_read_text(root, rel), rel), lower_keys=lower_keys)
    if data is None:  # an empty file is a valid, empty config
        return {}
    if not isinstance(data, dict):
        raise _ConfigError(f"the top level is {_kind(data)}, not a mapping of keys to values")
    return data


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (dt.date, dt.time)):
        return "a date"
    if value is None:
        return "empty"
    return type(value).__name__


class _Values:
    """Typed reads from one merged config; a value of the wrong type is a warning naming
    the file it came from, and the default is used."""

    def __init__(self, data: dict[str, Any], origin: dict[str, str], warnings: list[str],
                 fallback_file: str) -> None:
        self.data = data
        self.origin = origin
        self.warnings = warnings
        self.fallback_file = fallback_file

    def file(self, key: str) -> str:
        return self.origin.get(key.split(".", 1)[0], self.fallback_file)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.file(key.lower())}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], shown: str) -> Any:
        """data[key] if it has the type `kind`, else None (with a warning if present)."""
        value = self.data.get(key)
        if value is None:
            return None
        kinds = _as_tuple(kind)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            want = " or ".join(_WANTED.get(k, k.__name__) for k in kinds)
            self.warn(key, f"{shown} is {_kind(value)}, not {want}; ignored")
            return None
        return value


_WANTED = {str: "a string", dict: "a table", list: "a list", int: "a number",
           bool: "true/false"}


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    """Deep merge: tables merge key by key, any other value replaces (Hugo's config dir)."""
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _is_file(root: Path, rel: str) -> bool:
    """Present and not a folder: a FIFO or a dangling link named like a config is found,
    then refused by `_read_text` with a warning, rather than silently skipped."""
    path = root / rel
    return os.path.lexists(path) and not path.is_dir()


def _is_dir(root: Path, rel: str) -> bool:
    return (root / rel).is_dir()


def _safe_rel_dir(value: str) -> str | None:
    """A folder inside the root as a normalised POSIX path, or None if it leaves it."""
    text = value.replace("\\", "/").strip()
    if not text or text.startswith("/") or re.match(r"[A-Za-z]:", text):
        return None
    norm = posixpath.normpath(text)
    if norm == ".." or norm.startswith("../"):
        return None
    return norm


def _join_base(url: str | None, path: str | None) -> str | None:
    """`url` + `path` (Jekyll url+baseurl, Astro site+base) without a trailing slash."""
    base = (url or "").strip().rstrip("/")
    sub = (path or "").strip().strip("/")
    joined = f"{base}/{sub}" if sub else base
    return joined or None


def _checked_base_url(value: str | None, file: str, key: str,
                      warnings: list[str]) -> str | None:
    if not value:
        return None
    problem = url_problem(value)
    if problem is not None:
        warnings.append(f"{file}: {key} is not a URL blogrec writes ({problem}); ignored")
        return None
    return value


def _markdown_under(folder: Path, *, limit: int = 10_000) -> bool:
    """True if the folder holds a Markdown file at any depth (a bounded walk)."""
    seen = 0
    for _dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            if name.lower().endswith(MARKDOWN_SUFFIXES):
                return True
        seen += len(filenames)
        if seen > limit:
            return False
    return False


def _package_json(root: Path, warnings: list[str]) -> dict[str, Any] | None:
    """package.json as a mapping, or None if absent or unusable (with a warning)."""
    if not _is_file(root, "package.json"):
        return None
    try:
        return _load_config(root, "package.json")
    except _ConfigError as exc:
        warnings.append(f"package.json: {exc}; ignored")
        return None


def _depends_on(package: dict[str, Any] | None, name: str) -> bool:
    if package is None:
        return False
    for key in ("dependencies", "devDependencies"):
        deps = package.get(key)
        if isinstance(deps, dict) and name in deps:
            return True
    return False


def _text_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# ------------------------------------------------------------------------- Hugo

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
        data_dir=f"{data_dir}/blogrec", warnings=tuple(warnings),
    )


# ---------------------------------------------------------------- Jekyll and Hexo

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


# ------------------------------------------------------------------ Astro and Zenn

_ASTRO_CONFIGS = tuple(f"astro.config.{ext}" for ext in ("mjs", "ts", "js", "cjs", "mts"))


_JS_OPTION = {
    name: re.compile(r"(?<![\w$.])" + name + r"""\s*:\s*(['"`])([^'"`\\\n]{0,2000})\1""")
    for name in ("site", "base")
}
# One token at a time: a string (unclosed ones run to the line's end, or the file's end
# for `templates`), a // comment or a /* comment */. Every alternative always matches
# and consumes what it matched, so the scan is linear however the file is made.
_JS_TOKEN = re.compile(r"""'(?:[^'\\\n]|\\.)*'?|"(?:[^"\\\n]|\\.)*"?|`(?:[^`\\]|\\.)*`?"""
                       r"""|//[^\n]*|/\*.*?(?:\*/|\Z)""", re.S)


def _blank_js_comments(text: str) -> str:
    """The text with // and /* */ comments turned into spaces; strings left as they are."""

    def blank(m: re.Match[str]) -> str:
        token = m.group()
        return re.sub(r"[^\n]", " ", token) if token[0] == "/" else token

    return _JS_TOKEN.sub(blank, text)


def _js_string_option(text: str, name: str) -> str | None:
    """The first `name: 'literal'` in comment-free text (linear time: the literal is at
    most 2,000 characters; no nested quantifiers). A template with `${` is skipped."""
    for m in _JS_OPTION[name].finditer(text):
        if m.group(1) == "`" and "${" in m.group(2):
            continue
        return m.group(2).strip()
    return None


def _detect_astro(root: Path, root_str: str) -> Site:
    warnings: list[str] = []
    rel = next(c for c in _ASTRO_CONFIGS if _is_file(root, c))
    read: list[str] = []
    site = base = None
    try:
        text = _blank_js_comments(_read_text(root, rel))
    except _ConfigError as exc:
        warnings.append(f"{rel}: {exc}; using Astro's defaults")
    else:
        read.append(rel)
        site = _js_string_option(text, "site")
        base = _js_string_option(text, "base")
    base_url = _checked_base_url(_join_base(site, base), rel, "site + base", warnings)
    if _is_dir(root, "src/content/blog"):
        posts_dirs = ["src/content/blog"]
    else:
        content = root / "src" / "content"
        posts_dirs = sorted(f"src/content/{p.name}" for p in content.iterdir()
                            if p.is_dir() and _markdown_under(p)) if content.is_dir() else []
        if not posts_dirs:
            warnings.append("src/content/: no Markdown collection found; there are no "
                            "posts to read")
            posts_dirs = ["src/content"]
    return Site(
        root=root_str, generator="astro", config_files=tuple(read),
        posts_dirs=tuple(posts_dirs), base_url=base_url, permalinks={}, taxonomies=None,
        languages=(), default_language=None, language_dirs={}, data_dir="src/data/blogrec",
        warnings=tuple(warnings),
    )


def _is_zenn(root: Path) -> bool:
    articles = root / "articles"
    return articles.is_dir() and any(p.suffix.lower() == ".md" and p.is_file()
                                     for p in articles.iterdir())


def _detect_zenn(root: Path, root_str: str) -> Site:
    warnings: list[str] = []
    package = _package_json(root, warnings)
    # zenn.dev/<user>/articles/<slug>: the user is not in the repository, so no base URL.
    return Site(
        root=root_str, generator="zenn",
        config_files=("package.json",) if _depends_on(package, "zenn-cli") else (),
        posts_dirs=("articles",), base_url=None, permalinks={}, taxonomies=None,
        languages=(), default_language=None, language_dirs={}, data_dir=PLAIN_DATA_DIR,
        warnings=tuple(warnings),
    )


def _plain_folder(root_str: str, warnings: Sequence[str] = ()) -> Site:
    return Site(
        root=root_str, generator="folder", config_files=(), posts_dirs=(".",), base_url=None,
        permalinks={}, taxonomies=None, languages=(), default_language=None,
        language_dirs={}, data_dir=PLAIN_DATA_DIR, warnings=tuple(warnings),
    )


def detect_site(root: str | os.PathLike[str]) -> Site:
    """The generator of the site at `root` and what its config says (see `Site`).

    In order: Hugo (hugo.* or config/_default/), Astro (astro.config.*), Hexo or Jekyll
    (_config.yml with source/_posts/ or _posts/), Hugo again for a root config.* beside
    Hugo's folders, Zenn (articles/*.md), else a plain folder of posts. Never raises for
    a config; FileNotFoundError when `root` is not a folder.
    """
    root_str = os.fspath(root)
    path = Path(root_str)
    if not path.is_dir():
        raise FileNotFoundError(f"site root not found: {root_str}")
    if _is_hugo(path, weak=False):
        return _detect_hugo(path, root_str)
    if any(_is_file(path, c) for c in _ASTRO_CONFIGS):
        return _detect_astro(path, root_str)
    site = _detect_jekyll_or_hexo(path, root_str)
    if site is not None:
        return site
    if _is_hugo(path, weak=True):
        return _detect_hugo(path, root_str)
    if _is_zenn(path):
        return _detect_zenn(path, root_str)
    notes = []
    config = next((c for c in _JEKYLL_CONFIGS if _is_file(path, c)), None)
    if config:
        notes.append(f"{config}: found, but neither _posts/ nor source/_posts/ is; read as "
                     f"a plain folder of posts")
    return _plain_folder(root_str, notes)


# ------------------------------------------------------------------ permalinks

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


