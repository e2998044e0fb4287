"""Significance tests for experiments, in plain Python (two-sided p-values).

- Conversion: the pooled two-proportion z-test.
- Revenue per recipient: Welch's unequal-variance t-test, with the Welch–Satterthwaite
  degrees of freedom; Student's t distribution through the regularised incomplete beta
  function (continued fraction, evaluated by the modified Lentz method).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float
    df: float | None = None


def two_proportion_z_test(successes_a: int, n_a: int, successes_b: int, n_b: int) -> TestResult:
    """H0: both groups convert at the same rate."""
    if n_a <= 0 or n_b <= 0:
        return TestResult(0.0, 1.0)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return TestResult(0.0, 1.0)
    z = (successes_a / n_a - successes_b / n_b) / se
    return TestResult(z, math.erfc(abs(z) / math.sqrt(2)))


def welch_t_test(
    mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int
) -> TestResult:
    """H0: both groups have the same mean (variances may differ). Sample variances."""
    if n_a < 2 or n_b < 2:
        return TestResult(0.0, 1.0)
    se2 = var_a / n_a + var_b / n_b
    if se2 <= 0:
        return TestResult(0.0, 1.0)
    t = (mean_a - mean_b) / math.sqrt(se2)
    df = se2**2 / ((var_a / n_a) ** 2 / (n_a - 1) + (var_b / n_b) ** 2 / (n_b - 1))
    return TestResult(t, student_t_two_sided(t, df), df)


def student_t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    x = df / (df + t * t)
    return min(1.0, max(0.0, regularized_incomplete_beta(df / 2, 0.5, x)))


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The continued fraction converges fast for x < (a + 1) / (a + b + 2); otherwise use
    # the symmetry I_x(a, b) = 1 - I_{1-x}(b, a).
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    value = d
    for m in range(1, 400):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            value *= d * c
        if abs(d * c - 1.0) < 1e-14:
            break
    return value
