"""Which URLs blogrec may write: only ones a browser follows, never ones it runs.

A post's `url`/`permalink` ends up in `href`s on other authors' pages, so a value such as
`javascript:alert(1)` in one post's front matter would be stored XSS on every page that
lists it as related. Browsers remove ASCII tabs and newlines anywhere in a URL and C0
controls and spaces around it before they read the scheme (WHATWG URL), so
`java\\tscript:` and ` JaVaScRiPt:` are `javascript:` to them: the check does the same.
"""

from __future__ import annotations

import re

SAFE_SCHEMES = ("http", "https")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def url_problem(value: str) -> str | None:
    """Why `value` may not be written as a link, or None when it may.

    Kept: `http(s)://...`, protocol-relative `//host/...`, root-relative `/x/` and
    relative `x/`, `?q`, `#f`. Dropped: any other scheme (`javascript:`, `data:`,
    `vbscript:`, `file:`, `mailto:`...), in any case and however it is padded.
    """
    text = _TAB_OR_NEWLINE.sub("", value).strip(_C0_OR_SPACE)
    if not text:
        return "it is empty"
    m = _SCHEME.match(text)
    if m and m.group(1).lower() not in SAFE_SCHEMES:
        return f"its scheme {m.group(1).lower()!r} is not http(s)"
    if _CONTROL.search(text):
        return "it holds a control character"
    return None


def safe_url(value: object) -> str | None:
    """`value` as a URL to write (tabs, newlines and surrounding blanks removed, as a
    browser would), or None when it is not a string or not safe (see `url_problem`)."""
    if not isinstance(value, str) or url_problem(value) is not None:
        return None
    return _TAB_OR_NEWLINE.sub("", value).strip(_C0_OR_SPACE)
