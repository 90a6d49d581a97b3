"""The `tfhub` encoder path, offline: a tiny SavedModel built here, loaded the way users do.

The model tokenises with tensorflow_text (like the multilingual USE models, whose
SentencePiece ops live in tensorflow_text), hashes tokens into buckets and averages a
fixed embedding table, so it exercises op registration, `hub.load`, batching and a full
build without any download.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blogrec.build import BuildConfig, run_build
from blogrec.embeddings import TFHubEncoder, get_encoder
from blogrec.outputs import RELATED_JSON

pytestmark = pytest.mark.slow

DIM = 32
BUCKETS = 4096


def _import_tf():
    # CI installs the tfhub extra, so a missing TensorFlow there is a failure, not a skip.
    if os.environ.get("CI") != "true":
        for name in ("tensorflow", "tensorflow_text", "tensorflow_hub"):
            pytest.importorskip(name)
    import tensorflow as tf
    import tensorflow_text as tf_text

    return tf, tf_text


def save_model(path: Path, seed: int = 0) -> Path:
    """Save a strings -> (n, DIM) float32 SavedModel that needs tensorflow_text ops."""
    tf, tf_text = _import_tf()
    table = np.random.default_rng(seed).standard_normal((BUCKETS, DIM)).astype(np.float32)

    class HashedBagOfWords(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = tf.Variable(table, trainable=False)
            self.tokenizer = tf_text.WhitespaceTokenizer()

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            tokens = self.tokenizer.tokenize(tf.strings.lower(texts))  # ragged [n, None]
            ids = tf.strings.to_hash_bucket_fast(tokens, BUCKETS)
            total = tf.reduce_sum(tf.gather(self.table, ids), axis=1)  # [n, DIM]
            count = tf.cast(ids.row_lengths(), tf.float32)[:, None]
            return total / tf.maximum(count, 1.0)  # empty text -> zero row, not NaN

    if path.exists():
        shutil.rmtree(path)
    tf.saved_model.save(HashedBagOfWords(), str(path))
    return path


def saved_ops(path: Path) -> set[str]:
    """Every op type in the SavedModel's graph and its function library."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    ops: set[str] = set()
    for graph in proto.meta_graphs:
        ops.update(node.op for node in graph.graph_def.node)
        for fn in graph.graph_def.library.function:
            ops.update(node.op for node in fn.node_def)
    return ops


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_model(tmp_path_factory.mktemp("tfhub") / "hashed-bow")


@pytest.fixture(scope="module")
def hub_encoder(model_dir):
    return get_encoder("tfhub", str(model_dir))


TEXTS = [
    "Python testing with pytest fixtures and scopes",
    "pytest fixtures make python testing easy",
    "Kubernetes liveness probes restart containers",
    "",
    "Rust borrow checker lifetimes",
]


def test_model_really_uses_tensorflow_text_ops(model_dir):
    text_ops = {op for op in saved_ops(model_dir) if op.startswith("TFText")}
    assert text_ops, "the test model no longer needs tensorflow_text; it would not cover it"


FRESH_PROCESS = """
import sys
import tensorflow as tf
try:
    tf.saved_model.load(sys.argv[1])
except Exception as exc:
    print("plain load failed:", type(exc).__name__, str(exc)[:200])
else:
    print("PLAIN LOAD WORKED")
assert "tensorflow_text" not in sys.modules
from blogrec.embeddings import get_encoder
print("encoded shape", get_encoder("tfhub", sys.argv[1]).encode(["a b", "c"]).shape)
"""


def test_fresh_process_needs_and_gets_tensorflow_text(model_dir):
    """Without tensorflow_text the model does not load; get_encoder registers the ops itself
    (checked in a new interpreter: this test module has imported tensorflow_text already)."""
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(model_dir)],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "plain load failed:" in proc.stdout and "TFText" in proc.stdout, proc.stdout
    assert f"encoded shape (2, {DIM})" in proc.stdout, proc.stdout


def test_encoder_type_and_model_id(hub_encoder, model_dir):
    assert isinstance(hub_encoder, TFHubEncoder)
    assert hub_encoder.model_id.startswith(f"tfhub:{model_dir.name}@")


def test_encode_shape_dtype_and_normalised_rows(hub_encoder):
    vecs = hub_encoder.encode(TEXTS)
    assert vecs.shape == (len(TEXTS), DIM)
    assert vecs.dtype == np.float32
    assert np.isfinite(vecs).all()
    norms = np.linalg.norm(vecs, axis=1)
    for text, norm in zip(TEXTS, norms, strict=True):
        assert norm == pytest.approx(0.0 if not text.strip() else 1.0, abs=1e-5), text


def test_whitespace_only_text_is_a_zero_row(hub_encoder):
    vecs = hub_encoder.encode(["   \n\t", "pytest"])
    assert np.isfinite(vecs).all()
    assert np.linalg.norm(vecs[0]) == 0.0
    assert np.linalg.norm(vecs[1]) == pytest.approx(1.0, abs=1e-5)


def test_empty_input(hub_encoder):
    assert hub_encoder.encode([]).shape[0] == 0


def test_batching_matches_single_batch(model_dir, hub_encoder):
    small = TFHubEncoder(str(model_dir), batch_size=2)
    assert small.model_id == hub_encoder.model_id
    np.testing.assert_allclose(small.encode(TEXTS), hub_encoder.encode(TEXTS), atol=1e-6)


def test_shared_words_are_more_similar(hub_encoder):
    a, b, c, _, d = hub_encoder.encode(TEXTS)
    assert a @ b > a @ c + 0.2
    assert a @ b > a @ d + 0.2
    assert b @ b == pytest.approx(1.0, abs=1e-5)


def test_model_id_follows_content(tmp_path):
    path = tmp_path / "model"
    first = get_encoder("tfhub", str(save_model(path, seed=1))).model_id
    again = get_encoder("tfhub", str(path)).model_id
    assert again == first  # same bytes, same path: same cache key
    changed = get_encoder("tfhub", str(save_model(path, seed=2))).model_id
    assert changed != first  # same path, new weights: the embedding cache must not be reused


POSTS = {  # pairs that share most of their words
    "2024-01-01-pytest-fixtures.md": ("Pytest fixtures", "python pytest fixtures testing"),
    "2024-01-02-pytest-parametrize.md": ("Pytest parametrize", "python pytest parametrize testing"),
    "2024-01-03-k8s-probes.md": ("Kubernetes probes", "kubernetes pods probes cluster"),
    "2024-01-04-k8s-limits.md": ("Kubernetes limits", "kubernetes pods limits cluster"),
    "2024-01-05-css-grid.md": ("CSS grid", "css layout grid browsers"),
    "2024-01-06-css-clamp.md": ("CSS clamp", "css layout clamp browsers"),
}


def test_full_build_with_tfhub_encoder(tmp_path, model_dir, hub_encoder):
    posts = tmp_path / "posts"
    posts.mkdir()
    for name, (title, lede) in POSTS.items():
        (posts / name).write_text(f"---\ntitle: {title}\nlede: {lede}\n---\n{lede}\n")
    (posts / "draft.md").write_text("---\ntitle: Draft\ndraft: true\n---\nnot yet\n")
    config = BuildConfig(
        posts_dir=str(posts),
        out_dir=str(tmp_path / "out"),
        reports_dir=str(tmp_path / "reports"),
        cache_dir=str(tmp_path / "cache"),
        encoder="tfhub",
        tfhub_handle=str(model_dir),
    )
    result = run_build(config)
    data = json.loads((tmp_path / "out" / RELATED_JSON).read_text())
    assert data["model"] == hub_encoder.model_id
    assert data["count"] == len(POSTS)
    assert all(len(entry["related"]) == 4 for entry in data["posts"].values())
    # hashed bag of words: each post's nearest neighbour is the one sharing most words
    for a, b in [("pytest-fixtures", "pytest-parametrize"), ("k8s-probes", "k8s-limits"),
                 ("css-grid", "css-clamp")]:
        assert data["posts"][a]["related"][0]["slug"] == b
        assert data["posts"][b]["related"][0]["slug"] == a
    assert result.report["skipped"] and result.features.encoded == len(POSTS)
    assert list((tmp_path / "cache").glob("*.emb"))

    # second build: every vector comes from the cache, output is byte-identical
    before = (tmp_path / "out" / RELATED_JSON).read_bytes()
    again = run_build(config)
    assert again.features.encoded == 0
    assert (tmp_path / "out" / RELATED_JSON).read_bytes() == before
