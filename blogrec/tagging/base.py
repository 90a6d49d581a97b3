"""The interface of every tag method: fit on training posts, score tags for posts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..corpus import Post
from ..taxonomy import TagVocabulary
from .batch import Batch
from .ranking import rank_tags


class TagMethod:
    """Common interface: fit on training posts, score tags for posts or drafts."""

    name = "base"

    def fit(self, features: Any, train_indices: Sequence[int] | None = None,
            vocab: TagVocabulary | None = None) -> TagMethod:
        """Learn from `features.posts[train_indices]` (default: every post).

        vocab: the tag columns to score (default: the tags of the training posts).
        """
        self._start(features, train_indices, vocab)
        self._fit(self.train_)
        return self

    def _start(self, features: Any, train_indices: Sequence[int] | None,
               vocab: TagVocabulary | None) -> None:
        if train_indices is None:
            train_indices = range(len(features.posts))
        self.train_ = Batch(features, indices=list(train_indices))
        self.vocab_ = vocab or TagVocabulary.from_posts(self.train_.posts)
        self.y_ = self.vocab_.matrix(self.train_.posts)

    def _fit(self, train: Batch) -> None:
        pass

    def _scores(self, batch: Batch) -> np.ndarray:
        raise NotImplementedError

    def scores(self, features: Any, indices: Sequence[int] | None = None,
               posts: Sequence[Post] | None = None) -> np.ndarray:
        """(n_posts, n_tags) scores, higher = more likely; columns follow `vocab_.keys`."""
        return self._scores(Batch(features, indices=indices, posts=posts))

    def suggest(self, features: Any, indices: Sequence[int] | None = None,
                posts: Sequence[Post] | None = None, k: int = 5
                ) -> list[list[tuple[str, float]]]:
        """Top-k (display tag, score) per post."""
        return rank_tags(self.scores(features, indices, posts), self.vocab_, k)
