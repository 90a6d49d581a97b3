"""Related posts: the top-k most similar other posts, self excluded, ties broken by index.

Methods (`METHODS`): the peers and the study's recipe as named options, and the default
"blogrec", which fuses three signals, each z-scored per query over all other posts:

    fused(i, j) = z_profile(i, j) + z_pairs(i, j) + 0.5 * z_use(i, j)

* pairs: cosine of the TF-IDF of the words and adjacent word pairs of the cleaned full
  text (`text.matrices.pair_tfidf`: language-aware tokens, sublinear tf, squared idf).
  A shared phrase, a tool's or a project's name, is what the author's own links follow.
* use: cosine of USE multilingual embeddings of title + lede + headings (the study's text).
* profile: cosine of cross-fitted *predicted tag profiles*. Posts are split into K=5
  folds (`folds.fold_labels`: a seeded permutation, the scheme the tag signals use too).
  For the posts of fold f, a ridge regression (lambda=1) trained
  only on the tagged posts of the other folds maps TEXT features ([USE | LSI-200]) to tag
  indicators; that one model f scores the query post and every candidate, and posts are
  compared by the cosine of the predicted profiles. So the tags of the post being ranked
  never influence its ranking (model f never saw them) - exactly the situation of a new,
  untagged post. Candidates' tags do enter, through model f's training (their profiles
  are in-sample predictions): the blog's tag history is used, the query's tags are not.
  With fewer than 20 tagged posts or fewer than 2 tags used twice, the profile term is
  dropped and the default is the content fusion z_pairs + 0.5 z_use.

Measured with every link between posts hidden from the texts (`blogrec evaluate`), tag
Dice / link hit@4, and the ratio to the best peer on each (tfidf, tfidf-chars, bm25,
lsi): ja-efcl 0.400 / 0.815 (1.030x lsi / 1.034x tfidf-chars), en-18f 0.459 / 0.741
(1.091x lsi / 1.092x lsi); with folds by index mod 5, ja-efcl 0.400 / 0.826 (the
measure's noise: 4 of 373 posts). The fusion it replaces, z_profile + 0.25 z_lsi + 0.25 z_use,
scored 0.439 / 0.668 and 0.474 / 0.640: more tag Dice, fewer of the author's links.
Adding 0.25 z_lsi to the three terms changed nothing beyond noise; with plain idf the
pairs reached at most 1.02x on both measures at once on ja-efcl. The weights were
chosen on both corpora at once, as round numbers on a plateau: with z_pairs 0.75-1.25
and z_use 0.25-0.75 the lowest of the four ratios stayed between 1.01 and 1.04.

Scalability: the fused ranking is computed on candidates only, never on an n x n matrix:
the union of each signal's top-M (M=100; faiss inner product, exact, for the dense
signals; chunked sparse products for the pairs). The z-scores use each query's exact
mean and standard deviation over all other posts (from first and second moments of the
dense vectors; the pairs' from the chunked products), so for n <= M + 1 the result is
exactly the dense computation; for larger n a post outside every candidate list can
never be returned (a documented approximation).

Large blogs: where the search is approximate (from 50k posts, see `ann`), the candidates
are instead the top-100 of one search in the joint [LSI | USE] space
(`Features.neighbours`, shared with the tag model's kNN pool; its index scans fewer
cells, see `candidate_params`): one search instead of three (USE, LSI, the tag pool). On
a synthetic 100k-post blog its top-4 held 100% of the exact fused top-4 of 400 sampled
posts; the per-signal lists of 50 held 98.9% (benchmarks/README.md). There the pair
signal is left out and the fusion is z_profile + 0.25 z_lsi + 0.25 z_use (the default
before the pair signal): the pair TF-IDF's exact row statistics and candidate cosines
take sparse products over all pairs of posts, whose cost grows with the square of the
blog. On scale.py's synthetic 10k-post blog they took about 9 s of the 17 s related
step; extrapolated, a few minutes just below 50k posts (not measured).
The returned score of the default is the fused value above (finite, higher = closer).
"""

from __future__ import annotations

from ..folds import FOLDS
from ..methods import DEFAULT_K, DEFAULT_METHOD, METHODS, RECIPE_FIELDS
from .candidates import MOMENT_BLOCK
from .default import (
    CANDIDATES,
    LARGE_CONTENT_WEIGHT,
    PAIR_WEIGHT,
    USE_WEIGHT,
    BlogrecRelated,
    blogrec_related,
)
from .peers import top_k_from_similarity, top_k_from_vectors
from .profile import (
    MIN_TAG_POSTS,
    MIN_TAGGED_POSTS,
    PROFILE_RANK,
    RIDGE_LAMBDA,
    TagProfiles,
    tag_profile_models,
)
from .ranking import related_for

__all__ = [
    "BlogrecRelated",
    "CANDIDATES",
    "DEFAULT_K",
    "DEFAULT_METHOD",
    "FOLDS",
    "LARGE_CONTENT_WEIGHT",
    "METHODS",
    "MIN_TAGGED_POSTS",
    "MIN_TAG_POSTS",
    "MOMENT_BLOCK",
    "PAIR_WEIGHT",
    "PROFILE_RANK",
    "RECIPE_FIELDS",
    "RIDGE_LAMBDA",
    "TagProfiles",
    "USE_WEIGHT",
    "blogrec_related",
    "related_for",
    "tag_profile_models",
    "top_k_from_similarity",
    "top_k_from_vectors",
]
