"""The scheduled blogrec batch job as a Prefect flow.

Thin on purpose: each task calls one function of `blogrec.pipeline`, so everything the
flow does is tested without Prefect too.

Run once (no server needed; Prefect starts a temporary one):
    python flows/build_flow.py sample_blog/posts --out site_data

Serve on a cron schedule (needs a real server, see the README):
    python flows/build_flow.py sample_blog/posts --serve --cron "0 3 * * *"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

# Allow `python flows/build_flow.py` from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blogrec import pipeline  # noqa: E402
from blogrec.corpus import Corpus  # noqa: E402
from blogrec.features import Features  # noqa: E402

DEPLOYMENT_NAME = "nightly"


@task(name="load posts", cache_policy=NO_CACHE)
def load_posts(config: pipeline.BuildConfig) -> Corpus:
    logger = get_run_logger()
    corpus = pipeline.read_blog(config)
    logger.info("%d usable posts, %d rejected, %d drafts skipped",
                len(corpus.posts), len(corpus.rejected), len(corpus.skipped))
    for note in corpus.rejected:
        logger.warning("rejected %s: %s", note.path, note.reason)
    return corpus


# The encoder is local CPU work, but a TF Hub model on shared storage, a full disk
# for the cache or a killed worker are transient: retry before failing the run.
@task(name="embed posts", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def embed_posts(corpus: Corpus, config: pipeline.BuildConfig) -> Features:
    logger = get_run_logger()
    features = pipeline.make_features(corpus, config)
    features.use(config.fields)
    features.save_cache()
    logger.info("embedded %d posts with %s (%d encoded, rest from cache)",
                len(corpus.posts), features.encoder.model_id, features.encoded)
    return features


# Features holds an encoder and arrays: not hashable, and nothing to cache across runs.
@task(name="related posts", cache_policy=NO_CACHE)
def related_posts(features: Features, config: pipeline.BuildConfig) -> tuple[Any, Any, str]:
    return pipeline.compute_related(features, config)


@task(name="export", cache_policy=NO_CACHE)
def export(corpus: Corpus, features: Features, related: tuple[Any, Any, str],
           config: pipeline.BuildConfig) -> list[str]:
    logger = get_run_logger()
    idx, scores, method = related
    out = pipeline.write_related(corpus, features, idx, scores, method, config.out_dir)
    report = pipeline.build_report(corpus, features, method)
    report_path = str(Path(config.reports_dir) / pipeline.BUILD_REPORT)
    pipeline.atomic_write_json(report_path, report)
    logger.info("wrote %s and %s", out, report_path)
    return [out, report_path]


@flow(name="blogrec-build", log_prints=True)
def build_flow(
    posts_dir: str,
    out_dir: str = "site_data",
    reports_dir: str = "reports",
    cache_dir: str | None = None,
    strict: bool = False,
) -> list[str]:
    """Load -> embed -> related -> export, writing the site's JSON atomically."""
    config = pipeline.BuildConfig(
        posts_dir=posts_dir, out_dir=out_dir, reports_dir=reports_dir,
        cache_dir=cache_dir or pipeline.default_cache_dir(), strict=strict,
    )
    corpus = load_posts(config)
    features = embed_posts(corpus, config)
    related = related_posts(features, config)
    return export(corpus, features, related, config)


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
        build_flow(**params)


if __name__ == "__main__":
    main()
