"""Significance figures against published values."""

import math

import pytest

from campaigns.stats import (
    regularized_incomplete_beta,
    student_t_two_sided,
    two_proportion_z_test,
    welch_t_test,
)


def test_student_t_two_sided_p_values_match_the_tables():
    # t tables: t = 2.228 is the two-sided 5% point for 10 degrees of freedom, 2.0 gives
    # p = 0.0734, and t = 1 with one degree of freedom (Cauchy) gives exactly 0.5.
    assert student_t_two_sided(2.228, 10) == pytest.approx(0.05, abs=2e-5)
    assert student_t_two_sided(2.0, 10) == pytest.approx(0.073388, abs=1e-6)
    assert student_t_two_sided(1.0, 1) == pytest.approx(0.5, abs=1e-12)
    assert student_t_two_sided(12.706, 1) == pytest.approx(0.05, abs=1e-4)
    # Very many degrees of freedom: the normal distribution.
    assert student_t_two_sided(1.959964, 1e7) == pytest.approx(0.05, abs=1e-5)


def test_the_incomplete_beta_function_has_its_closed_forms():
    # I_x(1, 1) = x and I_x(a, 1) = x^a.
    assert regularized_incomplete_beta(1, 1, 0.3) == pytest.approx(0.3)
    assert regularized_incomplete_beta(3, 1, 0.5) == pytest.approx(0.125)


def test_two_proportion_z_test_of_20_against_25_percent_of_a_thousand():
    # Pooled p = 0.225; se = sqrt(0.225 * 0.775 * 2 / 1000) = 0.018675; z = -2.6774.
    result = two_proportion_z_test(200, 1000, 250, 1000)
    assert result.statistic == pytest.approx(-2.677398, abs=1e-6)
    assert result.p_value == pytest.approx(0.007420, abs=1e-6)
    assert result.p_value == pytest.approx(math.erfc(2.677398 / math.sqrt(2)), abs=1e-6)


def _t_tail_by_simpson(t: float, df: float) -> float:
    """Two-sided tail of Student's t by numerical integration of its density: an
    independent check of the continued fraction."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def density(x):
        return math.exp(log_norm - (df + 1) / 2 * math.log1p(x * x / df))

    low, high, steps = abs(t), 400.0, 200_000
    width = (high - low) / steps
    total = density(low) + density(high)
    for index in range(1, steps):
        total += (4 if index % 2 else 2) * density(low + index * width)
    return 2 * total * width / 3


def test_welch_t_test_matches_a_worked_example():
    # Means 20.0 and 22.0, variances 4.0 and 9.0, 10 and 12 observations:
    # se^2 = 0.4 + 0.75 = 1.15; t = -2 / sqrt(1.15) = -1.865010;
    # df = 1.15^2 / (0.4^2 / 9 + 0.75^2 / 11) = 19.1905.
    result = welch_t_test(20.0, 4.0, 10, 22.0, 9.0, 12)
    assert result.statistic == pytest.approx(-1.865010, abs=1e-6)
    assert result.df == pytest.approx(19.1905, abs=1e-4)
    assert result.p_value == pytest.approx(_t_tail_by_simpson(1.865010, 19.1905), abs=1e-5)
    assert result.p_value == pytest.approx(0.07755, abs=1e-4)


def test_no_evidence_means_a_p_value_of_one():
    assert two_proportion_z_test(0, 0, 5, 10).p_value == 1.0
    assert two_proportion_z_test(0, 100, 0, 100).p_value == 1.0
    assert welch_t_test(1.0, 0.0, 1, 2.0, 0.0, 1).p_value == 1.0
