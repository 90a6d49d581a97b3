"""The scheduled blogrec batch job: run or serve the Prefect flow `blogrec.flow.build_flow`.

Run once (no server needed; Prefect starts a temporary one):
    python flows/build_flow.py sample_blog/posts --out site_data

Serve on a cron schedule (needs a real server, see the README):
    python flows/build_flow.py sample_blog/posts --serve --cron "0 3 * * *"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Allow `python flows/build_flow.py` from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blogrec.build import BuildConfig, default_cache_dir  # noqa: E402
from blogrec.flow import build_flow, run_build_flow  # noqa: E402

DEPLOYMENT_NAME = "nightly"
__all__ = ["build_flow", "main"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run or serve the blogrec build flow.")
    parser.add_argument("posts_dir")
    parser.add_argument("--out", default="site_data")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--serve", action="store_true",
                        help="register a scheduled deployment and run it on its schedule "
                             "(needs PREFECT_API_URL pointing at `prefect server start`)")
    parser.add_argument("--cron", default="0 3 * * *", help="schedule for --serve")
    parser.add_argument("--dask-address", help="embed on this Dask scheduler (tcp://...)")
    parser.add_argument("--dask-workers", type=int, default=0,
                        help="embed on a local Dask cluster of N worker processes")
    args = parser.parse_args(argv)
    params = {
        "posts_dir": str(Path(args.posts_dir).resolve()),
        "out_dir": str(Path(args.out).resolve()),
        "reports_dir": str(Path(args.reports).resolve()),
        "cache_dir": str(Path(args.cache_dir).resolve()) if args.cache_dir else None,
        "strict": args.strict,
    }
    if args.serve:
        build_flow.serve(name=DEPLOYMENT_NAME, cron=args.cron, parameters=params)
    else:
        config = BuildConfig(
            posts_dir=params["posts_dir"], out_dir=params["out_dir"],
            reports_dir=params["reports_dir"],
            cache_dir=params["cache_dir"] or default_cache_dir(), strict=args.strict)
        run_build_flow(config, args.dask_address, args.dask_workers)


if __name__ == "__main__":
    main()
