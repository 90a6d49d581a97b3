"""The scheduled blogrec batch job: run the Prefect flow `blogrec.flow.build_flow` once,
or serve it on a cron schedule. Its options are `blogrec build`'s (the same click
options, made from `BuildConfig`), plus --serve and --cron.

Run once (no server needed; Prefect starts a temporary one):
    python flows/build_flow.py sample_blog/posts --out site_data

Serve on a cron schedule (needs a real server, see the README):
    python flows/build_flow.py sample_blog/posts --serve --cron "0 3 * * *"
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

# Allow `python flows/build_flow.py` from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blogrec.cli import config_from, config_options  # noqa: E402
from blogrec.flow import build_flow, run_build_flow  # noqa: E402

DEPLOYMENT_NAME = "nightly"
__all__ = ["build_flow", "main"]


@click.command()
@click.argument("posts_dir", type=click.Path(exists=True, file_okay=False))
@config_options()
@click.option("--serve", is_flag=True,
              help="Register a scheduled deployment and run it on its schedule (needs "
                   "PREFECT_API_URL pointing at `prefect server start`).")
@click.option("--cron", default="0 3 * * *", show_default=True, help="Schedule for --serve.")
@click.option("--dask-address", metavar="tcp://HOST:PORT",
              help="Embed on this existing Dask cluster.")
@click.option("--dask-workers", type=click.IntRange(0, 256), default=0,
              help="Embed on a local Dask cluster of N worker processes.")
def main(posts_dir: str, serve: bool, cron: str, dask_address: str | None,
         dask_workers: int, **kw: Any) -> None:
    """Run (or --serve) the blogrec build flow on POSTS_DIR."""
    config = config_from(str(Path(posts_dir).resolve()), **kw)
    # absolute paths: a served deployment runs from wherever the worker is
    for name in ("out_dir", "reports_dir", "cache_dir"):
        if getattr(config, name):
            setattr(config, name, str(Path(getattr(config, name)).resolve()))
    if serve:
        build_flow.serve(name=DEPLOYMENT_NAME, cron=cron, parameters={
            "posts_dir": config.posts_dir, "options": config.to_options()})
    else:
        run_build_flow(config, dask_address, dask_workers)


if __name__ == "__main__":
    main()
