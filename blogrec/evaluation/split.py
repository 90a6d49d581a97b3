"""The temporal split of tag evaluation: the newest posts are held out."""

from __future__ import annotations

from collections.abc import Sequence

from ..corpus import Post

DEFAULT_HOLDOUT = 0.17

def temporal_split(posts: Sequence[Post], holdout: float = DEFAULT_HOLDOUT,
                   cutoff_date: str | None = None) -> tuple[list[int], list[int], list[int]]:
    """(train, held-out, undated) post indices.

    Posts are sorted by (date, path). With `cutoff_date` (ISO, e.g. "2021-01-01") the posts
    dated before it train and the rest are held out; otherwise the newest
    round(holdout * n) dated posts are held out. Undated posts take part in neither.
    """
    dated = sorted((i for i, p in enumerate(posts) if p.date),
                   key=lambda i: (posts[i].date[:10], posts[i].date, posts[i].path))  # type: ignore[index]
    undated = [i for i, p in enumerate(posts) if not p.date]
    if cutoff_date is not None:
        cut = cutoff_date.strip()
        train = [i for i in dated if posts[i].date[:len(cut)] < cut]  # type: ignore[index]
        test = [i for i in dated if posts[i].date[:len(cut)] >= cut]  # type: ignore[index]
        return train, test, undated
    if not 0 < holdout < 1:
        raise ValueError("holdout must be a fraction between 0 and 1")
    n_test = min(max(1, round(holdout * len(dated))), max(len(dated) - 1, 0))
    return dated[: len(dated) - n_test], dated[len(dated) - n_test:], undated
