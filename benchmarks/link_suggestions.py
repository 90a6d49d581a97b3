"""How well `blogrec suggest-links` finds the posts an author linked, against TF-IDF.

For each corpus (default: the shared corpora ja-efcl and en-18f): every link between
its posts is resolved (`links.link_graph`) and hidden from every post's text; each post
that links to at least 2 others becomes a draft (its text with those links hidden), the
rest of the blog is the blog, and the suggester ranks the blog's posts for it. The
score is recall@10: the share of the posts the author linked that are among the 10
suggestions, averaged over the drafts. The peer is TF-IDF on the same words alone
(`LinkSuggester(meaning_weight=0, citation_weight=0, pairs=False)`), on the same
drafts.

    python benchmarks/link_suggestions.py [CORPUS ...] [--site-url URL ...]

Target (issue 17): blogrec >= 1.1x TF-IDF on both shared corpora.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _machine import REPO, SHARED_CORPORA, print_header, write_results

from blogrec.corpus import load_corpus
from blogrec.embeddings.encoders import get_encoder
from blogrec.features import Features
from blogrec.link_suggestions import LinkSuggester
from blogrec.links import blinded_posts, link_graph

SHARED = SHARED_CORPORA
DEFAULT_CORPORA = [SHARED / "ja-efcl", SHARED / "en-18f"]
SITE_URLS = {"ja-efcl": ["https://efcl.info/"], "en-18f": ["https://18f.gsa.gov/"]}


def recall_at(suggester: LinkSuggester, posts, out, k: int = 10) -> tuple[float, int]:
    drafts = [i for i, targets in enumerate(out) if len(targets) >= 2]
    recalls = []
    for i in drafts:
        found = {s["index"] for s in suggester.suggest(posts[i], exclude=[i])[:k]}
        recalls.append(len(found & set(out[i])) / len(out[i]))
    return (float(np.mean(recalls)) if recalls else 0.0), len(drafts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", nargs="*", type=Path, default=DEFAULT_CORPORA)
    ap.add_argument("--site-url", action="append", default=[],
                    help="the blog's address (default: the shared corpora's own)")
    ap.add_argument("--cache-dir", default=str(REPO / ".bench-cache"))
    args = ap.parse_args()
    info = print_header("link suggestions: recall@10 of the author's links")
    encoder = get_encoder("use-multilingual")
    rows = []
    for root in args.corpora:
        start = time.perf_counter()
        posts = load_corpus(root).posts
        graph = link_graph(posts, site_urls=args.site_url or SITE_URLS.get(root.name, []))
        hidden = blinded_posts(posts, graph)
        features = Features(hidden, encoder, args.cache_dir, namespace=f"{root} (links hidden)")
        # the blog's links are known to the suggester; each draft's own are not (a
        # draft is never its own neighbour, see `LinkSuggester`)
        suggester = LinkSuggester(10).fit(features, graph.undirected())
        blogrec, drafts = recall_at(suggester, hidden, graph.out)
        peer = LinkSuggester(10, meaning_weight=0, citation_weight=0, pairs=False
                             ).fit(features)
        tfidf, _ = recall_at(peer, hidden, graph.out)
        features.save_cache()
        row = {"corpus": root.name, "posts": len(posts), "drafts": drafts,
               "blogrec_recall@10": round(blogrec, 4), "tfidf_recall@10": round(tfidf, 4),
               "ratio": round(blogrec / tfidf, 3) if tfidf else None,
               "seconds": round(time.perf_counter() - start, 1)}
        rows.append(row)
        print(row, flush=True)
    print("\n| corpus | drafts (posts linking >= 2) | blogrec recall@10 | TF-IDF recall@10 "
          "| ratio |\n|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['corpus']} | {r['drafts']} | {r['blogrec_recall@10']:.3f} | "
              f"{r['tfidf_recall@10']:.3f} | {r['ratio']} |")
    write_results("link_suggestions", {"machine": info, "rows": rows})


if __name__ == "__main__":
    main()
