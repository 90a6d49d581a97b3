"""The one ridge regression: the tag model's `lr` signal and the related posts' tag
profiles, each fitted from per-fold sums."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import Ridge as SkRidge

from blogrec.ridge import Ridge


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((60, 8)) + 2.0  # not centred: the intercept matters
    y = sparse.csr_matrix((rng.random((60, 5)) < 0.3).astype(float))
    return z, y


def test_ridge_is_the_closed_form_with_tag_means_removed(data):
    z, y = data
    mean = y.toarray().mean(axis=0)
    expected = np.linalg.solve(z.T @ z + np.eye(8), z.T @ (y.toarray() - mean))
    ridge = Ridge(1.0).fit(z, y)
    np.testing.assert_allclose(ridge.coef_, expected, rtol=1e-12)
    np.testing.assert_allclose(ridge.mean_, mean)
    np.testing.assert_allclose(ridge.predict(z), z @ expected + mean, rtol=1e-5, atol=1e-5)


def test_centred_ridge_is_scikit_learns_ridge_with_an_intercept(data):
    z, y = data
    ours = Ridge(1.0, center=True).fit(z, y)
    theirs = SkRidge(alpha=1.0).fit(z, y.toarray())
    np.testing.assert_allclose(ours.coef_, theirs.coef_.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict(z), theirs.predict(z), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("center", [False, True])
def test_a_fit_from_the_parts_sums_is_the_fit_on_all_rows(data, center):
    z, y = data
    parts = [Ridge.moments(z[f::3], y[f::3]) for f in range(3)]
    split = Ridge(1.0, center=center).fit_moments(parts)
    whole = Ridge(1.0, center=center).fit(z, y)
    np.testing.assert_allclose(split.coef_, whole.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(split.mean_, whole.mean_)


def test_a_fit_on_some_columns_is_those_columns_of_the_fit(data):
    z, y = data
    keep = np.array([0, 3])
    part = Ridge(1.0, center=True).fit_moments([Ridge.moments(z, y).columns(keep)])
    whole = Ridge(1.0, center=True).fit(z, y)
    np.testing.assert_allclose(part.coef_, whole.coef_[:, keep], rtol=1e-12)
