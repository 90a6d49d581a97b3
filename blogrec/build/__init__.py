"""The build: one plan of steps (`plan`) over the models, run by the CLI and the Prefect
flow alike; its configuration (`config`), steps (`steps`), runtime (`runtime`: lock,
BLAS limit, timing) and the unchanged-blog check (`state`)."""

from .commands import build_demo, search_blog
from .config import BuildConfig, BuildError, BuildResult, Related, default_cache_dir
from .plan import run_build, run_evaluation, write_outputs
from .runtime import Steps, output_lock
from .steps import (
    compute_clusters,
    compute_related,
    compute_tags,
    embed,
    embed_posts,
    make_features,
    read_blog,
    texts_to_encode,
)

__all__ = [
    "BuildConfig", "BuildError", "BuildResult", "Related", "Steps", "build_demo",
    "compute_clusters", "compute_related", "compute_tags", "default_cache_dir", "embed",
    "embed_posts", "make_features", "output_lock", "read_blog", "run_build",
    "run_evaluation", "search_blog", "texts_to_encode", "write_outputs",
]
