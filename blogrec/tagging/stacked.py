"""The default tag model: a stack of six base signals, fused by weights learnt on the
blog's own training posts by cross-fitting, so no number is chosen per blog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from scipy import sparse

from ..corpus import tag_key
from ..folds import FOLDS, fold_plan
from ..ridge import Ridge, RidgeMoments
from ..taxonomy import TagVocabulary
from ..work import Piece, Runner, in_order
from .base import TagMethod
from .batch import BLOGREC_FIELDS, Batch
from .drafts import DraftModel, FoldModel, Lexicon, new_post_parts
from .fusion import SIGNALS, Fusion, SignalParts
from .names import FIELDS, NameMatches, match_field
from .ranking import top_suggestions
from .signals import KNN_K, KnnVote, MeanVector, NameRates, Prior

CROSS_FOLDS = FOLDS
MIN_STACK_POSTS = 20
# The kNN vote is among each post's KNN_POOL nearest posts of the whole blog; the fusion
# learns from <= FUSION_PAIRS out-of-fold (post, tag) pairs.
KNN_POOL = 2 * KNN_K
FUSION_PAIRS = 1_000_000
MIN_FUSION_POSTS = 200
SCORE_CHUNK = 1000


@dataclass
class Fold:
    """One fold of the cross-fitting: positions among the training posts."""

    train: np.ndarray
    test: np.ndarray
    model: FoldModel


class BlogrecTags(TagMethod):
    """The default: a stack of six signals, fused by weights learnt on the training posts.

    Signals for a (post, tag) pair (`fusion.SIGNALS`, one estimator each in `signals`):
      lr     ridge regression of every tag (lam=1, all tags in one primal solve) on
             [LSI | USE] / sqrt(2): LSI-200 of the TF-IDF of title + lede + cleaned body
             and USE of title + lede + headings, both unit rows (712 columns whatever the
             blog's size);
      knn    similarity-weighted vote of the k nearest training posts, similarity = mean
             of the LSI and the USE cosines; they are taken from each post's `pool`
             nearest posts of the whole blog, found once (`ann.search`), so a fold's
             model keeps those among its training posts;
      prior  log of the tag's share of training posts (popularity);
      title  P(tag | tag name in the title), body P(tag | tag name in the text), each per
             tag, shrunk towards the blog-wide rate (`NameRates`), 0 when no match;
      mean   cosine to the tag's mean vector (the study's signal).
    The fusion is a logistic regression over these signals fitted on out-of-fold values
    of the training posts (`folds`-fold cross-fitting), so the weights are learnt per
    blog by a fixed procedure, never set by hand; the output is a calibrated
    probability. On a large blog the out-of-fold values of at most `fusion_pairs`
    (post, tag) pairs (a fixed sample of at least `min_fusion_posts` posts) are
    computed: six weights need no more. Scores are computed `score_chunk` posts at a
    time, so memory does not grow with posts x tags. Below `min_stack_posts` training
    posts the signals are averaged instead.

    Long tail: a tag seen on one or two training posts gets a weak `lr`/`knn` score, but
    its `title`/`body` signal falls back to the blog-wide rate of "name in the text means
    the tag is there", and its mean vector still points at its posts.

    The fit's independent pieces (each fold's moments, each fold's models) and the
    out-of-fold suggestions' blocks are exposed as zero-argument callables
    (`fold_moments_work`, `fold_model_work`, `suggestion_blocks`), so a caller may run
    them in any order or on any thread (`fit(run=...)`); the result is the same.
    """

    name = "blogrec"

    def __init__(self, lam: float = 1.0, k: int = KNN_K, pool: int = KNN_POOL,
                 folds: int = CROSS_FOLDS, fusion_pairs: int = FUSION_PAIRS,
                 min_fusion_posts: int = MIN_FUSION_POSTS, score_chunk: int = SCORE_CHUNK,
                 min_stack_posts: int = MIN_STACK_POSTS,
                 fields: Sequence[str] = BLOGREC_FIELDS) -> None:
        self.lam = lam
        self.k = k
        self.pool = pool
        self.folds = folds
        self.fusion_pairs = fusion_pairs
        self.min_fusion_posts = min_fusion_posts
        self.score_chunk = score_chunk
        self.min_stack_posts = min_stack_posts
        self.fields = tuple(fields)

    # ---- fitting, as pieces
    def fit(self, features: Any, train_indices: Sequence[int] | None = None,
            vocab: TagVocabulary | None = None, name_matches: NameMatches | None = None,
            run: Runner = in_order) -> BlogrecTags:
        """Learn from `features.posts[train_indices]` (default: every post); `vocab` as
        `TagMethod.fit`. name_matches: the blog's `NameMatches`, if already computed
        (its missing tags are matched here). run: how the pieces are run."""
        self.start(features, train_indices, vocab, name_matches)
        first = run(self.fold_moments_work())
        return self.finish(run(self.fold_model_work(first)))

    def start(self, features: Any, train_indices: Sequence[int] | None = None,
              vocab: TagVocabulary | None = None, name_matches: NameMatches | None = None
              ) -> BlogrecTags:
        """The fit's first step: the training posts, their tags and the fold plan."""
        self._start(features, train_indices, vocab)
        train = self.train_
        self.plan_ = (fold_plan(len(train), self.folds)
                      if len(train) >= self.min_stack_posts else [])
        # made here, once, for the pieces to read (memoised on the feature store)
        self.joint_ = train.joint() if self.plan_ else None
        train.use(self.fields)
        self.name_matches_ = name_matches
        # the tags to match here (every tag when no matches are given, even none)
        self._unmatched: list[str] | None = (
            list(dict.fromkeys(self.vocab_.keys)) if name_matches is None
            else name_matches.missing(self.vocab_.keys) or None)
        return self

    def fold_moments_work(self) -> list[Piece[Any]]:
        """Pieces: each fold's ridge moments (`RidgeMoments`), then, for the tags not in
        the given `NameMatches`, the name matches of the titles and of the texts."""
        pieces: list[Piece[Any]] = [partial(self._fold_moments, te) for _, te in self.plan_]
        if self._unmatched is not None:
            features = self.train_.features
            pieces += [partial(match_field, features, f, self._unmatched) for f in FIELDS]
        return pieces

    def _fold_moments(self, rows: np.ndarray) -> RidgeMoments:
        return Ridge.moments(self.joint_[rows], self.y_[rows])  # type: ignore[index]

    def fold_model_work(self, first: Sequence[Any]) -> list[Piece[FoldModel]]:
        """Pieces: the model of each fold (fitted without it), then the model of all
        training posts; `first`: the results of `fold_moments_work`, in order."""
        moments = list(first[: len(self.plan_)])
        if self._unmatched is not None:
            found = dict(zip(FIELDS, first[len(self.plan_):], strict=True))
            self.name_matches_ = (
                NameMatches(len(self.train_.features.posts), found)
                if self.name_matches_ is None else self.name_matches_.merged(found))
            self._unmatched = None
        assert self.name_matches_ is not None
        keys = self.vocab_.keys
        self.title_matches_ = self.name_matches_.matrix("title", keys)
        self.text_matches_ = self.name_matches_.matrix("text", keys)
        if not self.plan_:  # too few posts to learn weights: one model, fixed fallback
            return [partial(self._base_fit, self.train_, self.y_, None)]
        pieces = [partial(self._fold_model, tr, moments[:f] + moments[f + 1:])
                  for f, (tr, _) in enumerate(self.plan_)]
        return pieces + [partial(self._fold_model, None, moments)]

    def _fold_model(self, rows: np.ndarray | None, parts: list[RidgeMoments]) -> FoldModel:
        ridge = Ridge(self.lam).fit_moments(parts)
        if rows is None:  # the model of all posts
            return self._base_fit(self.train_, self.y_, ridge)
        train = Batch(self.train_.features, indices=self.train_.indices[rows])
        return self._base_fit(train, self.y_[rows], ridge)

    def _base_fit(self, train: Batch, y: sparse.csr_matrix, ridge: Ridge | None
                  ) -> FoldModel:
        """The base signals' models on `train` (`ridge`: the `lr` model when the caller
        fitted it from fold moments)."""
        title, body = self._matches(train)
        assert train.indices is not None
        return FoldModel(
            train=train.indices, y=y,
            ridge=ridge or Ridge(self.lam).fit(train.joint(), y),
            knn=KnnVote(self.k).fit(train.indices, y, len(train.features.posts)),
            prior=Prior().fit(y),
            names=NameRates().fit(y, title, body),
            mean=MeanVector().fit(y, train.use(self.fields)),
        )

    def finish(self, models: Sequence[FoldModel]) -> BlogrecTags:
        """The fit's last step, from the results of `fold_model_work`: the out-of-fold
        signals of the training posts and the fusion learnt on them."""
        n = len(self.train_)
        t = len(self.vocab_.keys)
        self.model_ = models[-1]
        if not self.plan_:
            self.folds_: list[Fold] = []
            self.oof_rows_ = np.arange(n)
            self.oof_signals_ = np.zeros((n, t, len(SIGNALS)))
            self.oof_seen_ = np.zeros((n, t), dtype=bool)
            self.fusion_ = Fusion().fit(np.zeros((0, len(SIGNALS))), np.zeros(0, dtype=bool))
            return self
        # The fold models (each fitted without one fold), kept: the out-of-fold signals
        # below and the out-of-fold suggestions use the same ones.
        self.folds_ = [Fold(tr, te, m) for (tr, te), m in zip(self.plan_, models[:-1],
                                                               strict=True)]
        # Out-of-fold signals of the training posts (cross-fitting): all of them, or a
        # fixed sample of about fusion_pairs / n_tags posts on a large blog.
        size = max(self.min_fusion_posts, self.fusion_pairs // max(t, 1))
        sample = np.arange(n) if n <= size else np.sort(
            np.random.default_rng(0).choice(n, size, replace=False))
        where = np.full(n, -1, dtype=np.int64)
        where[sample] = np.arange(len(sample))
        oof = np.zeros((len(sample), t, len(SIGNALS)))
        seen = np.zeros((len(sample), t), dtype=bool)
        for fold in self.folds_:
            te = fold.test[where[fold.test] >= 0]
            if not len(te):
                continue
            rows = where[te]
            batch = Batch(self.train_.features, indices=self.train_.indices[te])
            oof[rows] = self._chunked(fold.model, batch, fused=False)
            seen[rows] = fold.model.seen
        self.oof_rows_ = sample
        self.oof_signals_ = oof
        self.oof_seen_ = seen
        self.fusion_ = Fusion().fit(oof[seen], (self.y_[sample].toarray() > 0)[seen])
        return self

    # ---- signals and scores
    def _matches(self, batch: Batch) -> tuple[Any, Any]:
        """(title, text) tag-name matches of some of the blog's posts (sparse)."""
        return self.title_matches_[batch.indices], self.text_matches_[batch.indices]

    def signal_parts(self, m: FoldModel, batch: Batch) -> SignalParts:
        """The base signals of `batch` under the fold model `m`."""
        if batch.indices is None:  # new posts: `drafts.new_post_parts`
            return new_post_parts(m, batch.posts, self.vocab_.keys, batch.joint(),
                                  batch.use(self.fields), batch.features.joint[m.train],
                                  self.k)
        title, body = self._matches(batch)
        # a large blog's pool is a prefix of the approximate neighbour lists related
        # posts use too (one index for both): 20 of ~40 neighbours are needed
        idx, sim = batch.features.neighbours(self.pool)
        return SignalParts(
            lr=m.ridge.predict(batch.joint()),
            knn=m.knn.transform(idx[batch.indices], sim[batch.indices]),
            prior=m.prior.transform(), title=title, body=body,
            mean=m.mean.transform(batch.use(self.fields), np.float32), names=m.names)

    def draft_model(self) -> DraftModel:
        """What scoring posts outside the blog needs from this fitted model and its
        features, as arrays (`drafts.DraftModel`: the same scores without the features);
        what the build saves for `blogrec suggest-tags`."""
        features = self.train_.features
        m = self.model_
        joint = features.joint
        if not np.array_equal(m.train, np.arange(len(joint))):
            joint = joint[m.train]
        return DraftModel(self.name, self.vocab_, m, self.fusion_.linear_or_none(), self.k,
                          self.fields, BLOGREC_FIELDS, joint, lexicon_of(features))

    def _chunked(self, m: FoldModel, batch: Batch, fused: bool) -> np.ndarray:
        """Stacked signals (fused=False) or fused scores of `batch`, `score_chunk` rows
        at a time."""
        shape = (len(batch), len(self.vocab_.keys)) + (() if fused else (len(SIGNALS),))
        out = np.zeros(shape)
        for start in range(0, len(batch), self.score_chunk):
            part = slice(start, min(len(batch), start + self.score_chunk))
            parts = self.signal_parts(m, batch.sub(part))
            out[part] = self.fusion_.predict(parts) if fused else np.stack(parts.dense(),
                                                                            axis=2)
        return out

    def _scores(self, batch: Batch) -> np.ndarray:
        return self._chunked(self.model_, batch, fused=True)

    @property
    def weights(self) -> dict[str, float]:
        return self.fusion_.weights

    # ---- cross-fitted scores of the training posts
    def score_blocks(self) -> list[tuple[np.ndarray, Piece[np.ndarray]]]:
        """The cross-fitted score blocks, `score_chunk` rows each: (training rows, a piece
        that computes their scores; 0 for tags no model of the row's fold saw)."""
        work: list[tuple[np.ndarray, Piece[np.ndarray]]] = []
        chunk = self.score_chunk
        if len(self.oof_rows_) == len(self.train_):
            for start in range(0, len(self.oof_rows_), chunk):
                part = slice(start, start + chunk)
                work.append((self.oof_rows_[part], partial(self._stored_scores, part)))
            return work
        train = self.train_
        for fold in self.folds_:
            for start in range(0, len(fold.test), chunk):
                rows = fold.test[start : start + chunk]
                batch = Batch(train.features, indices=train.indices[rows])
                work.append((rows, partial(self._fold_scores, fold.model, batch)))
        return work

    def _stored_scores(self, part: slice) -> np.ndarray:
        return self.fusion_.predict_stacked(self.oof_signals_[part]) * self.oof_seen_[part]

    def _fold_scores(self, m: FoldModel, batch: Batch) -> np.ndarray:
        return self.fusion_.predict(self.signal_parts(m, batch)) * m.seen

    def oof_scores(self) -> np.ndarray:
        """Cross-fitted scores of the training posts (each from models not fitted on it).
        Dense (n_posts, n_tags): small blogs only, see `oof_suggestions`."""
        if len(self.oof_rows_) == len(self.train_):
            return self.fusion_.predict_stacked(self.oof_signals_) * self.oof_seen_
        out = np.zeros((len(self.train_), len(self.vocab_.keys)))
        for rows, scores in self.score_blocks():
            out[rows] = scores()
        return out

    def suggestion_blocks(self, k: int
                          ) -> list[Piece[tuple[np.ndarray, list[list[tuple[int, float]]]]]]:
        """Pieces: for each score block, (its training rows, their top-k cross-fitted
        (tag column, score), own tags excluded); see `assemble_suggestions`."""
        return [partial(self._suggest_block, rows, scores, k)
                for rows, scores in self.score_blocks()]

    def _suggest_block(self, rows: np.ndarray, scores: Piece[np.ndarray], k: int
                       ) -> tuple[np.ndarray, list[list[tuple[int, float]]]]:
        own = [{tag_key(t) for t in self.train_.posts[r].tags} for r in rows]
        return rows, top_suggestions(scores(), self.vocab_, k, own)

    def assemble_suggestions(
        self, blocks: Sequence[tuple[np.ndarray, list[list[tuple[int, float]]]]]
    ) -> list[list[tuple[int, float]]]:
        """Each training post's suggestions from the results of `suggestion_blocks`."""
        out: list[list[tuple[int, float]]] = [[] for _ in range(len(self.train_))]
        for rows, tops in blocks:
            for r, top in zip(rows, tops, strict=True):
                out[r] = top
        return out

    def oof_suggestions(self, k: int, run: Runner = in_order) -> list[list[tuple[int, float]]]:
        """Top-k cross-fitted (tag column, score) of each training post, its own tags
        excluded, without holding the (n_posts, n_tags) matrix."""
        return self.assemble_suggestions(run(self.suggestion_blocks(k)))


def lexicon_of(features: Any) -> Lexicon:
    """How `features.lsi_of` maps a new text: the blog's vocabulary, TF-IDF weights and
    LSI basis, as the feature store fitted them. (`Features` keeps the last two to
    itself: read here, in one place, until it offers them.)"""
    dims = features.lsi.shape[1]  # fits the TF-IDF model and the LSI basis
    model = features._tfidf_model
    return Lexicon(features.counts[1], None if model is None else model.idf_,
                   features._lsi_projection, dims)
