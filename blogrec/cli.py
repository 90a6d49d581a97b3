"""The `blogrec` command: a thin layer over `blogrec.build`."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .build import BuildConfig, BuildError, default_cache_dir, run_build
from .methods import ENCODERS


def _progress(label: str) -> Callable[[int, int], None]:
    """A progress printer for stderr: a live line on a terminal, ~10 lines otherwise."""
    tty = sys.stderr.isatty()
    state = {"last": -1, "start": time.perf_counter()}

    def report(done: int, total: int) -> None:
        pct = 100 * done // max(total, 1)
        if tty:
            end = "\n" if done >= total else ""
            click.echo(f"\r{label}: {done}/{total} ({pct}%)", err=True, nl=False)
            if end:
                click.echo(err=True)
        elif pct // 10 != state["last"] // 10 or done >= total:
            rate = done / max(time.perf_counter() - state["start"], 1e-9)
            click.echo(f"{label}: {done}/{total} ({pct}%, {rate:.0f}/s)", err=True)
        state["last"] = pct

    return report


def config_options(build_only: bool = True) -> Callable[[Callable], Callable]:
    """The click options of every `BuildConfig` option (see `build.config.Option`), for
    `blogrec build` (and, with build_only=False, `blogrec evaluate`) and the flow script."""
    def decorate(f: Callable) -> Callable:
        for name, opt, default in reversed(BuildConfig.options(build_only)):
            if opt.negate:
                f = click.option(opt.negate, f"no_{name}", is_flag=True,
                                 help=opt.negate_help or opt.help)(f)
            if not opt.flags:
                continue
            kw: dict[str, Any] = {"help": opt.help, "metavar": opt.metavar}
            if opt.kind == "flag":
                kw.update(is_flag=True)
            else:
                shown = ",".join(default) if opt.kind == "fields" else default
                kw.update(default=shown, show_default=opt.shown or default is not None)
                if name == "cache_dir":
                    kw.update(default=default_cache_dir, show_default="~/.cache/blogrec")
            if opt.kind == "choice":
                kw["type"] = click.Choice(opt.choices)
            elif opt.kind == "int":
                kw["type"] = click.IntRange(opt.low, opt.high)
            elif opt.kind == "float":
                kw["type"] = click.FloatRange(opt.low, opt.high)
            f = click.option(*opt.flags, name, **kw)(f)
        return f
    return decorate


def config_from(posts_dir: str, **kw: Any) -> BuildConfig:
    """The BuildConfig of a command's parsed `config_options`."""
    values: dict[str, Any] = {}
    for name, opt, _default in BuildConfig.options():
        if opt.negate and kw.get(f"no_{name}"):
            values[name] = None if name == "cache_dir" else False
        elif name in kw and opt.flags:
            values[name] = kw[name]
    try:
        return BuildConfig(posts_dir=posts_dir, **values)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@click.group()
@click.version_option(__version__, prog_name="blogrec")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def main(verbose: bool, quiet: bool) -> None:
    """Related posts, tag suggestions and topic clusters for a Markdown blog."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("faiss").setLevel(logging.WARNING)


@main.command()
@click.argument("posts_dir", type=click.Path(exists=True, file_okay=False))
@config_options()
@click.option("--dask-address", metavar="tcp://HOST:PORT",
              help="Run as a Prefect flow, embedding on this existing Dask cluster.")
@click.option("--dask-workers", type=click.IntRange(0, 256), default=0,
              help="Run as a Prefect flow, embedding on a local Dask cluster of N workers.")
def build(posts_dir: str, dask_address: str | None, dask_workers: int, **kw: object) -> None:
    """Read the blog at POSTS_DIR; write related posts, tags, clusters and vectors for the
    site, and the report.

    POSTS_DIR is a site root (Hugo, Jekyll, Hexo, Astro, Zenn: the generator and its
    config are detected, and the JSON goes to its data folder) or a folder of posts."""
    config = config_from(posts_dir, **kw)
    start = time.perf_counter()
    if dask_address or dask_workers:
        from .flow import run_build_flow

        config.posts_dir = str(Path(config.posts_dir).resolve())
        outputs = run_build_flow(config, dask_address, dask_workers)
        click.echo(f"wrote {', '.join(outputs)} in {time.perf_counter() - start:.1f}s")
        return
    try:
        result = run_build(config, progress=_progress("embedding"))
    except (BuildError, ValueError, OSError) as exc:
        # OSError: a full disk or an unwritable --out; the previous output is intact.
        raise click.ClickException(f"{exc} (the previous output is unchanged)") from None
    report = result.report
    done = (f"nothing changed since the last build, output up to date ({len(result.outputs)} "
            f"files; --force rebuilds)" if result.skipped else
            f"wrote {', '.join(result.outputs)}")
    click.echo(
        f"{report['posts']} posts, {len(report['rejected'])} rejected, "
        f"{len(report['skipped'])} drafts skipped; "
        f"{done} in {time.perf_counter() - start:.1f}s"
    )
    for note in report["rejected"]:
        click.echo(f"  rejected {note['path']}: {note['reason']}", err=True)


@main.command()
@click.argument("posts_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--compare", is_flag=True,
              help="Score every peer and ablation beside the default (slower: embeds the "
                   "full text too).")
@click.option("--holdout", default=0.17, show_default=True, type=click.FloatRange(0.01, 0.99),
              help="Tag evaluation: share of the newest posts held out.")
@click.option("--split", "cutoff", metavar="DATE",
              help="Tag evaluation: hold out the posts dated on or after DATE instead.")
@config_options(build_only=False)
def evaluate(posts_dir: str, compare: bool, holdout: float, cutoff: str | None,
             **kw: object) -> None:
    """Score related posts (tag Dice, and links between posts) and tag suggestions
    (temporal split) on the blog at POSTS_DIR (a site root or a folder of posts); print
    the tables and write them, with the HTML report, to --reports."""
    from .build import run_evaluation

    config = config_from(posts_dir, **kw)
    try:
        text, paths = run_evaluation(config, compare=compare, holdout=holdout, cutoff=cutoff,
                                     progress=_progress("embedding"))
    except (BuildError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(text)
    click.echo(f"wrote {', '.join(paths)}")


def _read_blog(config: BuildConfig) -> Any:
    """`build.read_blog`, its failure a click error."""
    from .build import read_blog

    try:
        return read_blog(config)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("suggest-tags")
@click.argument("draft", type=click.Path(exists=True, dir_okay=False))
@click.argument("posts_dir", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("-k", "--top", "k", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="Print the suggestions as JSON.")
@click.option("--taxonomy", metavar="NAME[,NAME]",
              help="The front-matter keys that hold the tags (as given to the build).")
@click.option("--cache-dir", default=default_cache_dir, show_default="~/.cache/blogrec")
def suggest_tags(draft: str, posts_dir: str, k: int, as_json: bool, taxonomy: str | None,
                 cache_dir: str) -> None:
    """Suggest tags for DRAFT from the tag history of the blog at POSTS_DIR (a site root
    or a folder of posts).

    Uses the tag model the last `blogrec build` of the blog saved in the cache when it
    matches the blog ("model": "saved" in --json); else fits one, and says so."""
    from .build.config import cache_namespace
    from .embeddings.encoders import get_encoder
    from .store import dumps
    from .tagging.saved import Loaded, saved_suggestions

    config = BuildConfig(posts_dir=posts_dir, cache_dir=cache_dir, taxonomy=taxonomy)
    encoder = get_encoder(config.encoder, config.tfhub_handle)
    result, loaded = None, Loaded(None, "none")
    if config.cache_dir:
        result, loaded = saved_suggestions(draft, posts_dir, config.cache_dir,
                                           cache_namespace(config), encoder, k,
                                           config.tag_settings, config.posts_folders)
    if result is None:
        from threadpoolctl import threadpool_limits

        from .build import make_features
        from .tagging import NO_TAGS_MESSAGE, has_tags, suggest_for_draft

        corpus = _read_blog(config)
        if not has_tags(corpus.posts):
            click.echo(f"{posts_dir}: {NO_TAGS_MESSAGE}", err=True)
            sys.exit(2)
        why = loaded.why if config.cache_dir else "no cache directory"
        click.echo(f"note: no saved tag model matches this blog ({why}); fitting one",
                   err=True)
        features = make_features(corpus, config, progress=_progress("embedding"),
                                 encoder=encoder)
        # one BLAS thread, as the build fits (`build.plan.one_blas_thread`): the thread
        # count moves the last bits of the ridge solve, and the saved model is the build's
        with threadpool_limits(limits=1, user_api="blas"):
            result = suggest_for_draft(draft, features, k=k)
        features.save_cache()
    if result.get("warning"):
        click.echo(f"warning: {result['warning']}", err=True)
    if as_json:
        click.echo(dumps(result).decode(), nl=False)
    else:
        click.echo(f"{result['title']}  (tags on the draft: {', '.join(result['tags']) or '-'})")
        for rank, s in enumerate(result["suggestions"], 1):
            mark = "  (already on the draft)" if s["on_post"] else ""
            click.echo(f"{rank:>3}  {s['score']:.3f}  {s['tag']}{mark}")


@main.command("suggest-links")
@click.argument("draft", type=click.Path(exists=True, dir_okay=False))
@click.argument("posts_dir", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("-k", "--top", "k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="Print the suggestions as JSON.")
@click.option("--site-url", metavar="URL",
              show_default="the site config's base URL",
              help="The blog's address: the draft's absolute links to it count as links.")
@click.option("--cache-dir", default=default_cache_dir, show_default="~/.cache/blogrec")
def suggest_links(draft: str, posts_dir: str, k: int, as_json: bool, site_url: str | None,
                  cache_dir: str) -> None:
    """Suggest the posts of the blog at POSTS_DIR (a site root or a folder of posts)
    that DRAFT should link to, each with the sentence where the link fits and the words
    to link."""
    from .build import make_features
    from .link_suggestions import suggest_links_for_draft
    from .store import dumps

    config = BuildConfig(posts_dir=posts_dir, cache_dir=cache_dir, site_url=site_url)
    corpus = _read_blog(config)
    features = make_features(corpus, config, progress=_progress("embedding"))
    result = suggest_links_for_draft(draft, features, root=posts_dir, k=k,
                                     site_urls=[config.site_url] if config.site_url else ())
    features.save_cache()
    if result.get("warning"):
        click.echo(f"warning: {result['warning']}", err=True)
    if as_json:
        click.echo(dumps(result).decode(), nl=False)
        return
    click.echo(result["title"])
    for p in result["linked"]:
        click.echo(f"  already linked: {p['title']} ({p['path']})")
    for rank, s in enumerate(result["suggestions"], 1):
        click.echo(f"{rank:>3}  {s['score']:.2f}  {s['title']} ({s['path']})")
        click.echo(f"       link \"{s['anchor']}\" in: {s['passage'][:160]}")


@main.command()
@click.argument("query")
@click.argument("posts_dir", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("-k", "--top", "k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--encoder", type=click.Choice(ENCODERS), default="use-multilingual",
              show_default=True)
@click.option("--tfhub-handle", metavar="URL_OR_DIR")
@click.option("--cache-dir", default=default_cache_dir, show_default="~/.cache/blogrec")
def search(query: str, posts_dir: str, k: int, as_json: bool, encoder: str,
           tfhub_handle: str | None, cache_dir: str) -> None:
    """Rank the posts of the blog at POSTS_DIR (a site root or a folder of posts) by
    meaning for QUERY (any of the encoder's languages)."""
    from .build import search_blog
    from .search import format_results
    from .store import dumps

    try:
        results = search_blog(posts_dir, query, k, cache_dir=cache_dir, encoder=encoder,
                              tfhub_handle=tfhub_handle)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(dumps(results).decode(), nl=False)
    else:
        click.echo(format_results(results))


@main.command()
@click.argument("posts_dir", default="sample_blog/posts",
                type=click.Path(exists=True, file_okay=False))
@click.option("--out", default="demo_site", show_default=True, help="Where the site goes.")
@click.option("--encoder", type=click.Choice(ENCODERS), default="use-multilingual",
              show_default=True)
@click.option("--tfhub-handle", metavar="URL_OR_DIR")
@click.option("--cache-dir", default=default_cache_dir, show_default="~/.cache/blogrec")
def demo(posts_dir: str, out: str, encoder: str, tfhub_handle: str | None,
         cache_dir: str) -> None:
    """Build a small static demo site of the blog at POSTS_DIR (a site root or a folder
    of posts): related posts, cluster, "for you"."""
    from .build import build_demo

    try:
        index = build_demo(posts_dir, out, cache_dir=cache_dir, encoder=encoder,
                           tfhub_handle=tfhub_handle)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {index}; view it with: python -m http.server -d {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
