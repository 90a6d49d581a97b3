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

from .detect import detect_site
from .jekyll import HEXO_DEFAULT_NEW_POST_NAME, HEXO_DEFAULT_PERMALINK, JEKYLL_STYLES
from .permalinks import expand_permalink, hexo_slugize, hugo_urlize, jekyll_slugify
from .site import (
    MAX_CONFIG_BYTES,
    MAX_CONFIG_DEPTH,
    MAX_CONFIG_VALUES,
    PLAIN_DATA_DIR,
    REPORTS_DIR,
    Site,
)

__all__ = [
    "HEXO_DEFAULT_NEW_POST_NAME",
    "HEXO_DEFAULT_PERMALINK",
    "JEKYLL_STYLES",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "MAX_CONFIG_VALUES",
    "PLAIN_DATA_DIR",
    "REPORTS_DIR",
    "Site",
    "detect_site",
    "expand_permalink",
    "hexo_slugize",
    "hugo_urlize",
    "jekyll_slugify",
]
