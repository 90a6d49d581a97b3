"""The `blogrec` command: a thin layer over blogrec.pipeline and blogrec.evaluate."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import click

from . import __version__
from .encoders import DEFAULT_FIELDS, ENCODERS, FIELDS
from .pipeline import BuildConfig, BuildError, default_cache_dir, read_blog, run_build


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


def _fields(value: str) -> tuple[str, ...]:
    names = tuple(f.strip() for f in value.split(",") if f.strip())
    bad = [f for f in names if f not in FIELDS]
    if bad or not names:
        raise click.BadParameter(f"choose from {', '.join(FIELDS)} (comma-separated)")
    return names


def _common(f: Callable) -> Callable:
    options = [
        click.option("--encoder", type=click.Choice(ENCODERS), default="use-multilingual",
                     show_default=True, help="Sentence encoder."),
        click.option("--tfhub-handle", metavar="URL_OR_DIR",
                     help="TF Hub URL or local SavedModel dir (with --encoder tfhub)."),
        click.option("--fields", default=",".join(DEFAULT_FIELDS), show_default=True,
                     help=f"Text fields embedded per post, from: {', '.join(FIELDS)}."),
        click.option("--cache-dir", default=default_cache_dir, show_default="~/.cache/blogrec",
                     help="Embedding cache directory ($BLOGREC_CACHE_DIR)."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the cache."),
        click.option("-k", "--top", "k", default=4, show_default=True,
                     type=click.IntRange(1, 100), help="Related posts per post."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _config(posts_dir: str, **kw: object) -> BuildConfig:
    return BuildConfig(
        posts_dir=posts_dir,
        out_dir=str(kw.get("out") or "site_data"),
        reports_dir=str(kw.get("reports") or "reports"),
        cache_dir=None if kw.get("no_cache") else str(kw["cache_dir"]),
        encoder=str(kw["encoder"]),
        tfhub_handle=kw.get("tfhub_handle"),  # type: ignore[arg-type]
        fields=_fields(str(kw["fields"])),
        k=int(kw["k"]),  # type: ignore[call-overload]
        strict=bool(kw.get("strict")),
    )


@click.group()
@click.version_option(__version__, prog_name="blogrec")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def main(verbose: bool, quiet: bool) -> None:
    """Related posts, tag suggestions and topic clusters for a Markdown blog."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


@main.command()
@click.argument("posts_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", default="site_data", show_default=True,
              help="Directory for the site's JSON (e.g. Hugo's data/, Jekyll's _data/).")
@click.option("--reports", default="reports", show_default=True,
              help="Directory for the build report and evaluation reports.")
@click.option("--strict", is_flag=True, help="Fail if any file is rejected.")
@_common
def build(posts_dir: str, **kw: object) -> None:
    """Read POSTS_DIR and write related posts for the site."""
    config = _config(posts_dir, **kw)
    start = time.perf_counter()
    try:
        result = run_build(config, progress=_progress("embedding"))
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None
    report = result.report
    click.echo(
        f"{report['posts']} posts, {len(report['rejected'])} rejected, "
        f"{len(report['skipped'])} drafts skipped; "
        f"wrote {', '.join(result.outputs)} in {time.perf_counter() - start:.1f}s"
    )
    for note in report["rejected"]:
        click.echo(f"  rejected {note['path']}: {note['reason']}", err=True)


@main.command()
@click.argument("posts_dir", type=click.Path(exists=True, file_okay=False))
@_common
def evaluate(posts_dir: str, **kw: object) -> None:
    """Score related posts by the reference study's metric (tag Dice, log-rank weights)."""
    from .evaluate import random_score, related_score, tag_sets
    from .pipeline import compute_related, make_features

    config = _config(posts_dir, **kw)
    try:
        corpus = read_blog(config)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None
    features = make_features(corpus, config, progress=_progress("embedding"))
    start = time.perf_counter()
    idx, _scores, method = compute_related(features, config)
    seconds = time.perf_counter() - start
    features.save_cache()
    tags = tag_sets(corpus.posts)
    n_tagged = sum(1 for t in tags if t)
    click.echo(f"{len(corpus.posts)} posts, {n_tagged} with tags, top {config.k}")
    click.echo(f"{'method':<32} {'score':>7} {'seconds':>8}")
    click.echo(f"{'random (expected)':<32} {random_score(tags):>7.4f} {'':>8}")
    click.echo(f"{method:<32} {related_score(tags, idx, config.k):>7.4f} {seconds:>8.2f}")


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
    """Rank the posts of POSTS_DIR by meaning for QUERY (any of the encoder's languages)."""
    from .export import dumps
    from .search import format_results, search_blog

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
    """Build a small static demo site of POSTS_DIR: related posts, cluster, "for you"."""
    from .site import build_demo

    try:
        index = build_demo(posts_dir, out, cache_dir=cache_dir, encoder=encoder,
                           tfhub_handle=tfhub_handle)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {index}; view it with: python -m http.server -d {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
