"""Astro: `astro.config.*`, searched as text (never run), and its content collections."""

from __future__ import annotations

import re
from pathlib import Path

from .config import (
    _checked_base_url,
    _ConfigError,
    _is_dir,
    _is_file,
    _join_base,
    _markdown_under,
    _read_text,
)
from .site import Site

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

