"""What a build is asked to do (`BuildConfig`) and what it returns."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..methods import DEFAULT_FIELDS, DEFAULT_K, DEFAULT_METHOD, ENCODERS, FIELDS, METHODS
from ..sites import Site, detect_site

if TYPE_CHECKING:  # only in annotations: the config imports no model
    import numpy as np

    from ..corpus import Corpus
    from ..features import Features


class BuildError(RuntimeError):
    """The build cannot produce output (no usable post, or --strict and a rejected file)."""


def default_cache_dir() -> str:
    """$BLOGREC_CACHE_DIR, else $XDG_CACHE_HOME/blogrec, else ~/.cache/blogrec."""
    if os.environ.get("BLOGREC_CACHE_DIR"):
        return os.environ["BLOGREC_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "blogrec")


@dataclass(frozen=True)
class Option:
    """How a `BuildConfig` field is set from a command line or a flow parameter: the
    one definition the CLI's click options and the Prefect flow's options derive from.

    flags: the command-line names; kind: "text", "int", "float", "flag", "choice",
    "fields" (comma-separated text fields), "names" (comma-separated names) or "range"
    (LO-HI); negate: a flag that sets the field to False (--no-eval) or None
    (--no-cache); build_only: not an option of `blogrec evaluate`; shown: the default
    as --help states it, when it depends on the blog.
    """

    flags: tuple[str, ...]
    help: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    metavar: str | None = None
    negate: str | None = None
    negate_help: str | None = None
    build_only: bool = False
    shown: str | None = None


def _option(default: Any = None, factory: Any = None, **spec: Any) -> Any:
    meta = {"option": Option(**spec)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def parse_fields(value: str | Sequence[str]) -> tuple[str, ...]:
    """`title,lede` or a list: the text fields, each checked."""
    names = tuple(f.strip() for f in (value.split(",") if isinstance(value, str) else value)
                  if f.strip())
    bad = [f for f in names if f not in FIELDS]
    if bad or not names:
        raise ValueError(f"choose from {', '.join(FIELDS)} (comma-separated)")
    return names


def parse_names(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """`tags,topics` or a list: front-matter keys; None when empty (the default)."""
    if value is None:
        return None
    names = tuple(dict.fromkeys(
        f.strip() for f in (value.split(",") if isinstance(value, str) else value)
        if f.strip()))
    return names or None


def parse_range(value: str | Sequence[int] | None) -> tuple[int, int] | None:
    """`5-20` or a pair: an inclusive range with 1 <= LO <= HI; None when empty."""
    if not value:
        return None
    try:
        lo, hi = (int(x) for x in (str(value).split("-", 1) if isinstance(value, str)
                                   else value))
    except ValueError:
        raise ValueError("use LO-HI, e.g. 5-20") from None
    if not 1 <= lo <= hi:
        raise ValueError("need 1 <= LO <= HI")
    return lo, hi


@dataclass
class BuildConfig:
    """Everything a build depends on besides the posts. Each field but `posts_dir` is an
    option of `blogrec build` (its `Option` in the field's metadata) and of the flow."""

    posts_dir: str  # a site root (Hugo, Jekyll, Hexo, Astro, Zenn) or a folder of posts
    out_dir: str = _option(None, flags=("--out",), build_only=True,
                           shown="the site's data folder, e.g. data/blogrec; site_data for "
                                 "a folder of posts",
                           help="Directory for the site's JSON.")
    reports_dir: str = _option(None, flags=("--reports",),
                               shown="SITE_ROOT/blogrec-reports; reports for a folder of "
                                     "posts",
                               help="Directory for the build report and evaluation reports.")
    cache_dir: str | None = _option(factory=default_cache_dir, flags=("--cache-dir",),
                                    negate="--no-cache", metavar="DIR",
                                    negate_help="Do not read or write the cache.",
                                    help="Embedding cache directory ($BLOGREC_CACHE_DIR).")
    encoder: str = _option("use-multilingual", flags=("--encoder",), kind="choice",
                           choices=ENCODERS, help="Sentence encoder.")
    tfhub_handle: str | None = _option(None, flags=("--tfhub-handle",), metavar="URL_OR_DIR",
                                       help="TF Hub URL or local SavedModel dir (--encoder "
                                            "tfhub; use-large).")
    method: str = _option(DEFAULT_METHOD, flags=("--method",), kind="choice",
                          choices=(*METHODS, "use"),
                          help="Related-post ranking; 'use' = USE on --fields only.")
    fields: Sequence[str] = _option(DEFAULT_FIELDS, flags=("--fields",), kind="fields",
                                    help=f"Text fields embedded per post, from: "
                                         f"{', '.join(FIELDS)}.")
    k: int = _option(DEFAULT_K, flags=("-k", "--top"), kind="int", low=1, high=100,
                     help="Related posts per post.")
    index: str = _option("auto", flags=("--index",), kind="choice",
                         choices=("auto", "exact", "approx"),
                         help="Nearest-neighbour search: exact below 50,000 posts, "
                              "approximate (IVF-PQ with exact re-ranking) above; or force "
                              "one.")
    tag_weight: float = _option(0.0, flags=("--tag-weight",), kind="float", low=0, high=100,
                                build_only=True,
                                help="Blend the posts' own tags into related posts (Hugo-"
                                     "style; blogrec method only). Not scored: tag Dice of a "
                                     "tag-aware ranking is circular.")
    diversity_slot: bool = _option(False, flags=("--diversity-slot",), kind="flag",
                                   build_only=True,
                                   help="Add the latest post of the same topic cluster to "
                                        "related.json.")
    clusters: int = _option(10, flags=("--clusters",), kind="int", low=1, high=1000,
                            help="Number of topic clusters.")
    cluster_range: tuple[int, int] | None = _option(
        None, flags=("--cluster-range",), kind="range", metavar="LO-HI",
        help="Choose the number of clusters in LO..HI by cosine silhouette.")
    suggest: int = _option(5, flags=("--suggest",), kind="int", low=1, high=100,
                           build_only=True, help="Suggested tags per post in tags.json.")
    evaluate: bool = _option(True, flags=(), kind="flag", negate="--no-eval",
                             build_only=True, help="Skip scoring the output in the report.")
    export_vectors: bool = _option(True, flags=(), kind="flag", negate="--no-vectors",
                                   build_only=True,
                                   help="Do not write vectors.json (the browser's \"for "
                                        "you\").")
    site_url: str | None = _option(None, flags=("--site-url",), metavar="URL",
                                   shown="the site config's base URL",
                                   help="The blog's address (e.g. https://example.org/blog/): "
                                        "absolute links to it are links between its posts.")
    taxonomy: tuple[str, ...] | None = _option(
        None, flags=("--taxonomy",), kind="names", metavar="NAME[,NAME]",
        shown="the site config's taxonomies, else tags/tag/topics, else categories",
        help="The front-matter keys that hold the tags.")
    cross_language: bool = _option(False, flags=("--cross-language",), kind="flag",
                                   help="Related posts from every language (by default a "
                                        "post's related posts are in its own language).")
    strict: bool = _option(False, flags=("--strict",), kind="flag", build_only=True,
                           help="Fail if any file is rejected.")
    lock_timeout: float = _option(60.0, flags=("--lock-timeout",), kind="float", low=0,
                                  build_only=True,
                                  help="Seconds to wait for another build writing to the "
                                       "same --out.")
    force: bool = _option(False, flags=("--force",), kind="flag", build_only=True,
                          help="Rebuild even if no post, setting or blogrec version changed "
                               "since the last build (which is otherwise skipped).")

    # `blogrec evaluate`: every link between the blog's posts is removed from their text
    # (`links.blinded_posts`), so that no method sees what the link measure scores.
    hide_links: bool = False
    # What `sites.detect_site` found at posts_dir (None: posts_dir is not a folder);
    # the unset out_dir, reports_dir and site_url default to what it says.
    site: Site | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        self.fields = parse_fields(self.fields)
        self.cluster_range = parse_range(self.cluster_range)
        self.taxonomy = parse_names(self.taxonomy)
        if self.site is None:
            try:
                self.site = detect_site(self.posts_dir)
            except FileNotFoundError:
                self.site = None
        root = self.site_root
        if self.out_dir is None:
            self.out_dir = os.path.join(self.posts_dir, root.data_dir) if root else "site_data"
        if self.reports_dir is None:
            self.reports_dir = (os.path.join(self.posts_dir, root.reports_dir) if root
                                else "reports")
        if self.site_url is None and root is not None and root.base_url:
            self.site_url = root.base_url + "/"

    @property
    def posts_folders(self) -> tuple[str, ...]:
        """Where the posts are, relative to posts_dir: a site root's posts folders, else
        posts_dir itself."""
        root = self.site_root
        return root.posts_dirs if root is not None else (".",)

    @property
    def tag_settings(self) -> str:
        """The settings besides the posts that change a fitted tag model: the taxonomy
        and what the site's config says (`tagging.saved.blog_fingerprint`)."""
        root = self.site_root
        if root is None and self.taxonomy is None:
            return ""  # a folder of posts with the default taxonomy
        return json.dumps({"taxonomy": self.taxonomy,
                           "site": root.describe() if root is not None else None},
                          sort_keys=True)

    @property
    def site_root(self) -> Site | None:
        """The detected site when posts_dir is a generator's site root (None for a plain
        folder of posts)."""
        return self.site if self.site is not None and self.site.generator != "folder" \
            else None

    @classmethod
    def options(cls, build_only: bool = True) -> list[tuple[str, Option, Any]]:
        """(field name, its Option, its default) of every option, in field order;
        `build_only=False` leaves out the options only `blogrec build` has."""
        out = []
        for f in dataclasses.fields(cls):
            opt = f.metadata.get("option")
            if opt is None or (opt.build_only and not build_only):
                continue
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            out.append((f.name, opt, default))
        return out

    def to_options(self) -> dict[str, Any]:
        """The options that differ from their defaults, as JSON values (a flow's
        parameters); `BuildConfig(posts_dir, **to_options())` is this config again."""
        out: dict[str, Any] = {}
        for name, _opt, default in self.options():
            value = getattr(self, name)
            if isinstance(value, tuple):
                value, default = list(value), list(default) if default else default
            if value != default:
                out[name] = value
        return out


@dataclass
class BuildResult:
    corpus: Corpus | None  # None when the build was skipped (`up_to_date`)
    features: Features | None
    outputs: list[str]
    report: dict[str, Any]
    data: dict[str, Any]
    timings: dict[str, float]
    skipped: bool = False


@dataclass
class Related:
    idx: np.ndarray
    scores: np.ndarray
    method: str


def cache_namespace(config: BuildConfig) -> str:
    """What keeps one cache file per blog: the posts directory, resolved (the blog with
    its links hidden has its own, so an evaluation keeps the build's cache)."""
    return str(Path(config.posts_dir).resolve()) + (" (links hidden)" if config.hide_links
                                                    else "")
