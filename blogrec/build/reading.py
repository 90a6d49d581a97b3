"""What a build does before it needs the models: read the blog, start the encoding
child and hand it the texts the cache lacks, so that it encodes while this process
imports the models and tokenises."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from ..corpus import Corpus, Post, PostCache, load_corpus
from ..embeddings.cache import EmbeddingCache
from ..embeddings.encoders import (
    Encoder,
    Progress,
    TFHubEncoder,
    USEMultilingual,
    document_text,
)
from ..embeddings.worker import EncodingProcess
from ..fingerprint import code_digest, versions_digest
from ..links import LinkGraph, blinded_posts, link_graph
from ..methods import RECIPE_FIELDS
from ..store import text_key
from .config import BuildConfig, BuildError, cache_namespace

log = logging.getLogger(__name__)

# Libraries whose version can change what a file parses to (the parsed-post cache).
_PARSE_LIBRARIES = ("python-frontmatter", "PyYAML", "python-dateutil")


def open_post_cache(config: BuildConfig) -> PostCache | None:
    """The blog's parsed-post cache (None without a cache directory): valid for this
    code and these parsing libraries only."""
    if not config.cache_dir:
        return None
    ident = f"{code_digest()} {versions_digest(_PARSE_LIBRARIES)}"
    return PostCache(config.cache_dir, ident, str(Path(config.posts_dir).resolve()))


def read_blog(config: BuildConfig) -> Corpus:
    """Load the posts and apply the failure policy: raise only if nothing usable is left,
    or if --strict and any file was rejected."""
    site = config.site_root
    for warning in config.site.warnings if config.site is not None else ():
        log.warning("%s: %s", config.posts_dir, warning)
    if site is not None:
        log.info("%s: a %s site; posts in %s", config.posts_dir, site.generator,
                 ", ".join(site.posts_dirs) or "(none found)")
    cache = open_post_cache(config)
    corpus = load_corpus(config.posts_dir, site=site, taxonomy=config.taxonomy, cache=cache)
    if cache is not None:
        cache.save()
    log.info(
        "read %d posts from %s (%d rejected, %d drafts skipped, %d not posts)",
        len(corpus.posts), config.posts_dir, len(corpus.rejected), len(corpus.skipped),
        len(corpus.not_posts),
    )
    if not corpus.posts:
        raise BuildError(
            f"no usable post in {config.posts_dir} "
            f"({len(corpus.rejected)} file(s) rejected; see the build report)"
        )
    if config.strict and corpus.rejected:
        first = corpus.rejected[0]
        raise BuildError(
            f"--strict: {len(corpus.rejected)} file(s) rejected, "
            f"first {first.path}: {first.reason}"
        )
    return corpus


def embedding_fields(config: BuildConfig) -> list[tuple[str, ...]]:
    """The field sets whose document texts the build embeds."""
    sets = [tuple(config.fields), RECIPE_FIELDS]
    return list(dict.fromkeys(sets))


def open_cache(config: BuildConfig, encoder: Encoder) -> EmbeddingCache | None:
    """The blog's embedding cache for `encoder` (None without a cache directory)."""
    if not config.cache_dir:
        return None
    return EmbeddingCache(config.cache_dir, encoder.model_id, cache_namespace(config))


class Early(NamedTuple):
    """What `run_build` does before it imports the models: the blog read, its
    embedding cache opened, the encoding child given its texts (None: nothing to
    encode), and the seconds it took (the build's "read" step)."""

    corpus: Corpus
    cache: EmbeddingCache | None
    job: EncodingProcess | None
    seconds: float
    links: LinkGraph | None = None  # with config.hide_links: the links that were hidden


def texts_to_encode(posts: Sequence[Post], config: BuildConfig,
                    cache: EmbeddingCache | None) -> list[list[str]]:
    """The texts of this build that the cache does not hold yet, one list per field set
    in the order `embed` encodes them: what a distributed run sends to its workers.
    Cutting each list into chunks of whole encoder batches reproduces the single-process
    batches, hence the same vectors to the bit."""
    seen: set[bytes] = set()
    groups: list[list[str]] = []
    for fields in embedding_fields(config):
        group: list[str] = []
        for post in posts:
            text = document_text(post, fields)
            key = text_key(text)
            if key not in seen and (cache is None or cache.get(key) is None):
                seen.add(key)
                group.append(text)
        groups.append(group)
    return groups


def start_encoding(config: BuildConfig, encoder: Encoder, progress: Progress | None = None
                   ) -> EncodingProcess | None:
    """Start the process that will encode the build's uncached texts (`submit_encoding`)
    with the configured encoder (`encoder`, this process's instance of it), so that it
    loads the model while this one parses; None with no cache to put the vectors in
    (--no-cache encodes in-process) or if no process starts."""
    if not config.cache_dir:
        return None
    if not isinstance(encoder, (USEMultilingual, TFHubEncoder)):
        return None  # not one the child can make from its name
    try:
        return EncodingProcess(config.encoder, config.tfhub_handle, encoder.model_id,
                               progress=progress)
    except OSError as exc:
        log.warning("could not start a process to encode in (%s); encoding here", exc)
        return None


def submit_encoding(job: EncodingProcess | None, posts: Sequence[Post], config: BuildConfig,
                    cache: EmbeddingCache | None, encoder: Encoder | None
                    ) -> EncodingProcess | None:
    """Hand `job` the texts the cache does not hold; the job, or None (and `job`
    stopped) when there are none."""
    if job is None:
        return None
    same = encoder is not None and encoder.model_id == job.model_id
    groups = texts_to_encode(posts, config, cache) if same and cache is not None else []
    if not any(groups):
        job.close()
        return None
    job.submit(groups)
    return job


def read_and_submit(config: BuildConfig, encoder: Encoder, progress: Progress | None = None
                    ) -> Early:
    """Start the encoding child, read the blog, hand the child its texts."""
    start = time.perf_counter()
    job = start_encoding(config, encoder, progress)
    try:
        corpus = read_blog(config)
        graph = None
        if config.hide_links:
            graph = link_graph(corpus.posts, site_urls=[config.site_url] if config.site_url
                               else ())
            corpus = dataclasses.replace(corpus, posts=blinded_posts(corpus.posts, graph))
        cache = open_cache(config, encoder) if job is not None else None
        job = submit_encoding(job, corpus.posts, config, cache, encoder)
        return Early(corpus, cache, job, time.perf_counter() - start, graph)
    except BaseException:
        if job is not None:
            job.close()
        raise
