"""Property tests (hypothesis, derandomized): the front-matter reader only ever raises
PostError and returns bounded fields; the metrics stay in [0, 1]; top-k never returns the
post itself or a duplicate, and is deterministic."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from blogrec.corpus import MAX_FIELD_CHARS, MAX_TAGS, PostError, decode, parse_post
from blogrec.evaluation.metrics import (
    average_precision_at_k,
    ndcg_at_k,
    precision_at_k,
    random_score,
    recall_at_k,
    related_score,
)
from blogrec.markup import MAX_HEADINGS, extract_headings, strip_inline
from blogrec.related import top_k_from_similarity, top_k_from_vectors
from blogrec.taxonomy import dice
from blogrec.text.clean import clean_markdown

PROFILE = settings(derandomize=True, max_examples=100, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ------------------------------------------------------------------ front matter

KEYS = st.sampled_from(["title", "tags", "tag", "topics", "categories", "date", "lede",
                        "description", "slug", "permalink", "draft", "published", "x"])
SCALARS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["2021-02-30", "2021/09/01 00:00:00", "yes", "~", "null", "0x_",
                     "1e999", ".nan", "!!python/object:os.system", "&a x", "*a", "<b>x</b>",
                     "'unclosed", '"q', "[", "{", "- x", "|", ">", "@", "`", "%TAG"]),
    st.integers(-10**6, 10**6).map(str),
)
TAGS = st.sampled_from(["", "!!int ", "!!str ", "!!float ", "!!bool ", "!!timestamp ",
                        "!!binary ", "!!set ", "!!map ", "!!seq ", "!custom ", "&a ", "*a "])


@st.composite
def yamlish(draw) -> str:
    """A YAML-looking front matter: keys, values, lists, flow collections, tags."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        key, tag, value = draw(KEYS), draw(TAGS), draw(SCALARS)
        shape = draw(st.integers(0, 4))
        if shape == 0:
            lines.append(f"{key}: {tag}{value}")
        elif shape == 1:
            items = draw(st.lists(SCALARS, max_size=4))
            lines.append(f"{key}: [{', '.join(items)}]")
        elif shape == 2:
            items = draw(st.lists(SCALARS, max_size=3))
            lines.append(f"{key}:" + "".join(f"\n{draw(st.sampled_from(['  ', chr(9)]))}- "
                                             f"{i}" for i in items))
        elif shape == 3:
            lines.append(f"{key}: {{a: {value}, b: [{value}]}}")
        else:
            lines.append(draw(st.text(max_size=40)))
    return "\n".join(lines)


@st.composite
def documents(draw) -> str:
    front = draw(yamlish())
    body = draw(st.text(max_size=200))
    closing = draw(st.sampled_from(["---", "---   ", "...", "", "----"]))
    return f"---\n{front}\n{closing}\n{body}"


def _check_post(post, rel: str) -> None:
    assert isinstance(post.title, str) and post.title
    assert len(post.title) <= MAX_FIELD_CHARS and len(post.lede) <= MAX_FIELD_CHARS
    assert len(post.tags) <= MAX_TAGS and all(isinstance(t, str) and len(t) <= 200
                                              for t in post.tags)
    assert len(post.headings) <= MAX_HEADINGS
    assert post.date is None or isinstance(post.date, str)
    assert post.path == rel


@PROFILE
@given(documents())
def test_parse_post_only_raises_post_error_on_yamlish_documents(text):
    try:
        post, draft, warnings = parse_post(text, "p.md")
    except PostError as exc:
        assert str(exc)
        return
    _check_post(post, "p.md")
    assert isinstance(draft, bool) and all(isinstance(w, str) for w in warnings)


@PROFILE
@given(st.binary(max_size=400) | st.builds(lambda fm, b: b"---\n" + fm.encode() + b"\n---\n" + b,
                                            yamlish(), st.binary(max_size=100)))
def test_decode_and_parse_only_raise_post_error_on_bytes(raw):
    try:
        post, _, _ = parse_post(decode(raw), "b.md")
    except PostError:
        return
    _check_post(post, "b.md")


@PROFILE
@given(st.text(max_size=300))
def test_markdown_helpers_are_total(text):
    assert isinstance(clean_markdown(text), str)
    assert len(extract_headings(text)) <= MAX_HEADINGS
    assert "\n" not in strip_inline(text)


# ------------------------------------------------------------------ related metrics

TAG = st.sampled_from(["python", "docker", "go", "rust", "sql", "k8s", "web"])
TAGSETS = st.frozensets(TAG, max_size=5)


@PROFILE
@given(TAGSETS, TAGSETS)
def test_dice_is_symmetric_and_in_unit_interval(a, b):
    d = dice(a, b)
    assert d == dice(b, a) and 0.0 <= d <= 1.0
    assert (d == 1.0) == (bool(a) and a == b)


@st.composite
def tagged_rankings(draw):
    n = draw(st.integers(1, 12))
    tags = draw(st.lists(TAGSETS, min_size=n, max_size=n))
    k = draw(st.integers(1, 6))
    neighbours = np.array([[draw(st.integers(-1, n - 1)) for _ in range(k)]
                           for _ in range(n)], dtype=np.int64)
    return tags, neighbours, k


@PROFILE
@given(tagged_rankings())
def test_related_and_random_scores_are_in_unit_interval(data):
    tags, neighbours, k = data
    s = related_score(tags, neighbours, k)
    r = random_score(tags)
    assert 0.0 <= s <= 1.0 + 1e-12 and 0.0 <= r <= 1.0 + 1e-9
    assert math.isfinite(s) and math.isfinite(r)


# ------------------------------------------------------------------ top-k


@st.composite
def matrices(draw):
    n = draw(st.integers(0, 14))
    dim = draw(st.integers(1, 6))
    base = draw(arrays(np.float32, (n, dim),
                       elements=st.sampled_from([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0])))
    if n >= 2 and draw(st.booleans()):  # duplicate rows: ties
        base[n - 1] = base[0]
    if n >= 1 and draw(st.booleans()):  # a zero row
        base[draw(st.integers(0, n - 1))] = 0
    norms = np.linalg.norm(base, axis=1, keepdims=True)
    return (base / np.maximum(norms, 1e-12)).astype(np.float32), draw(st.integers(1, 6))


def _check_top_k(idx: np.ndarray, n: int, k: int) -> None:
    assert idx.shape == (n, k)
    for i in range(n):
        row = [int(j) for j in idx[i] if j >= 0]
        assert i not in row and len(row) == len(set(row))
        assert len(row) == min(k, n - 1)  # every slot filled when enough posts exist
        assert all(0 <= j < n for j in row)


@PROFILE
@given(matrices())
def test_top_k_from_vectors_never_returns_self_or_duplicates(data):
    x, k = data
    idx, scores = top_k_from_vectors(x, k)
    _check_top_k(idx, x.shape[0], k)
    idx2, scores2 = top_k_from_vectors(x.copy(), k)
    assert np.array_equal(idx, idx2) and np.array_equal(scores, scores2)


@PROFILE
@given(matrices())
def test_top_k_from_similarity_never_returns_self_or_duplicates(data):
    x, k = data
    sim = x @ x.T
    idx, scores = top_k_from_similarity(sim, k)
    _check_top_k(idx, x.shape[0], k)
    idx2, scores2 = top_k_from_similarity(sim.copy(), k)
    assert np.array_equal(idx, idx2) and np.array_equal(scores, scores2)
    for i in range(x.shape[0]):  # best first
        got = [round(float(s), 6) for j, s in zip(idx[i], scores[i], strict=True) if j >= 0]
        assert got == sorted(got, reverse=True)  # ties within 1e-6 go to the smaller index


# ------------------------------------------------------------------ tag metrics


@PROFILE
@given(st.lists(TAG, max_size=8, unique=True), st.sets(TAG, max_size=5), st.integers(1, 10))
def test_tag_metrics_are_in_unit_interval(ranked, relevant, k):
    for metric in (precision_at_k, recall_at_k, average_precision_at_k, ndcg_at_k):
        value = metric(ranked, relevant, k)
        assert 0.0 <= value <= 1.0 + 1e-12, (metric.__name__, value)
