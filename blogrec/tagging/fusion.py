"""The stacked tagger's fusion: a logistic regression over the base signals, learnt on
out-of-fold values; the formula that turns signals into scores is `fused`'s."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from .fused import SIGNALS, Linear, SignalParts, fused_scores, sigmoid, stacked_scores

__all__ = ["SIGNALS", "Fusion", "SignalParts", "sigmoid"]


class Fusion:
    """Logistic regression over standardised signals (one row per (post, tag) pair),
    fitted on out-of-fold values; without two classes to learn from, `fused.fallback`."""

    def __init__(self, c: float = 1.0, max_iter: int = 1000) -> None:
        self.c = c
        self.max_iter = max_iter

    def fit(self, x: np.ndarray, y: np.ndarray) -> Fusion:
        """x: (n_pairs, n_signals); y: (n_pairs,) bool, does the post carry the tag."""
        self.model_: LogisticRegression | None = None
        if not len(x) or y.all() or not y.any():  # nothing to learn weights from
            return self
        self.mu_ = x.mean(axis=0)
        self.sd_ = x.std(axis=0) + 1e-9
        self.model_ = LogisticRegression(C=self.c, max_iter=self.max_iter)
        self.model_.fit((x - self.mu_) / self.sd_, y)
        return self

    @property
    def learnt(self) -> bool:
        return self.model_ is not None

    @property
    def weights(self) -> dict[str, float]:
        """Each signal's weight on its raw (unstandardised) scale; {} when not learnt."""
        if self.model_ is None:
            return {}
        return {s: float(w / sd) for s, w, sd in zip(SIGNALS, self.model_.coef_[0], self.sd_,
                                                       strict=True)}

    def linear(self) -> tuple[np.ndarray, float]:
        """The fusion as weights on the raw signals and an intercept (standardisation
        folded in)."""
        assert self.model_ is not None
        w = self.model_.coef_[0] / self.sd_
        return w, float(self.model_.intercept_[0] - np.dot(self.mu_, w))

    def linear_or_none(self) -> Linear | None:
        """`linear()`, or None when no weights were learnt (the fallback applies)."""
        return None if self.model_ is None else self.linear()

    def predict_stacked(self, signals: np.ndarray) -> np.ndarray:
        """Scores of stacked signals (n_posts, n_tags, n_signals), as stored for the
        fusion's own training rows: one matrix product (`fused.stacked_scores`)."""
        return stacked_scores(signals, self.linear_or_none())

    def predict(self, parts: SignalParts) -> np.ndarray:
        """Scores of a block from its `SignalParts` (consumed; `fused.fused_scores`)."""
        return fused_scores(parts, self.linear_or_none())
