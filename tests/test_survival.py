"""Statistics that count unsolved runs, against values worked out by hand on small samples."""

from __future__ import annotations

import math

import pytest

from rnnbench import survival

Z = 1.959963984540054  # the two-sided 95% normal quantile


def test_kaplan_meier_on_three_solved_and_two_censored_seeds():
    """Solved at 100, 200, 300; two seeds unsolved at a 400 budget.

    S(100) = 4/5, S(200) = 4/5 * 3/4 = 3/5, S(300) = 3/5 * 2/3 = 2/5: the median is 300, the
    first count at which S <= 1/2. Greenwood at 100: sum d/(n(n-d)) = 1/(5*4) = 0.05; the
    log-log interval of S is S^exp(+-Z*se), se = sqrt(0.05)/|log 0.8|, so the lower curve is
    0.8^exp(Z*se) = 0.204 <= 1/2 already at 100 (the median's lower bound) and the upper curve
    never reaches 1/2 within 400 (upper bound: not reached).
    """
    km = survival.kaplan_meier([100, 200, 300], [400, 400])
    assert km.solved == pytest.approx((0.2, 0.4, 0.6, 0.6))
    assert km.median == 300 and km.low == 100 and math.isinf(km.high)
    assert (km.n, km.k, km.last) == (5, 3, 400)
    se = math.sqrt(0.05) / abs(math.log(0.8))
    lower_at_100 = 0.8 ** math.exp(Z * se)
    assert lower_at_100 == pytest.approx(0.2038, abs=1e-4)  # below one half: low = 100
    # the upper curve at 300: sum = 1/20 + 1/12 + 1/6 = 0.3, se = sqrt(0.3) / |log 0.4|
    upper_at_300 = 0.4 ** math.exp(-Z * math.sqrt(0.3) / abs(math.log(0.4)))
    assert upper_at_300 == pytest.approx(0.7528, abs=1e-4)  # above one half: high not reached


def test_kaplan_meier_with_every_seed_solved_and_with_none():
    km = survival.kaplan_meier([10, 20, 30, 40], [])
    assert km.median == 20  # S(20) = 1/2
    assert km.solved[-1] == 1.0
    none = survival.kaplan_meier([], [500, 500, 500])
    assert none.k == 0 and math.isinf(none.median) and none.solved == (0.0,)
    assert survival.kaplan_meier([], []).n == 0


def test_a_censored_seed_leaves_the_risk_set_without_counting_as_solved():
    """Solved at 10 and 30, censored at 20: S(10) = 2/3, S(30) = 2/3 * 0/1 = 0."""
    km = survival.kaplan_meier([10, 30], [20])
    assert km.counts == (10, 20, 30)
    assert km.solved == pytest.approx((1 / 3, 1 / 3, 1.0))
    assert km.median == 30


def test_wilson_interval_of_three_of_five():
    """p = 0.6, n = 5: centre (p + Z^2/10) / (1 + Z^2/5), half-width
    Z sqrt(p(1-p)/5 + Z^2/100) / (1 + Z^2/5)."""
    denominator = 1 + Z**2 / 5
    centre = (0.6 + Z**2 / 10) / denominator
    half = Z * math.sqrt(0.6 * 0.4 / 5 + Z**2 / 100) / denominator
    low, high = survival.wilson(3, 5)
    assert (low, high) == (pytest.approx(centre - half), pytest.approx(centre + half))
    assert (round(low, 4), round(high, 4)) == (0.2307, 0.8824)
    assert survival.wilson(0, 5)[0] == pytest.approx(0.0, abs=1e-12)
    assert all(v != v for v in survival.wilson(0, 0))


def test_expected_running_time_counts_every_sequence_spent():
    # two solved at 1,000 and 3,000, two unsolved that spent their 10,000 each: 24,000 / 2
    assert survival.expected_running_time([1_000, 3_000, 10_000, 10_000], 2) == 12_000
    assert math.isinf(survival.expected_running_time([10_000, 10_000], 0))


def test_faster_needs_the_log_rank_test_and_five_seeds_a_side():
    quick = ([100, 110, 120, 130, 140], [])
    slow = ([1000, 1100, 1200, 1300], [5000])
    result = survival.faster(quick, slow)
    assert result.verdict == "faster" and result.pvalue < 0.05
    assert survival.faster(slow, quick).verdict == "slower"
    # the same separation with four seeds a side: not claimed
    few = survival.faster(([100, 110, 120, 130], []), ([1000, 1100, 1200, 1300], []))
    assert few.pvalue < 0.05 and few.verdict == "same"
    # overlapping samples: indistinguishable
    mixed = survival.faster(([100, 300, 500, 700, 900], []), ([200, 400, 600, 800, 1000], []))
    assert mixed.verdict == "same" and mixed.pvalue > 0.05


def test_log_rank_statistic_by_hand():
    """A: solved at 1 and 3; B: solved at 2, censored at 4. At t=1: 4 at risk, 2 of A, 1 event:
    E_A = 1/2, V = 2*2*1*3/(16*3) = 1/4. At t=2: 3 at risk, 1 of A: E_A = 1/3, V = 2/9. At t=3:
    2 at risk, 1 of A: E_A = 1/2, V = 1/4. O_A - E_A = 2 - 4/3 = 2/3; chi2 = (2/3)^2 / (13/18)."""
    from scipy import stats

    chi2 = (2 / 3) ** 2 / (1 / 4 + 2 / 9 + 1 / 4)
    expected_p = stats.chi2.sf(chi2, 1)
    result = survival.faster(([1, 3], []), ([2], [4]))
    assert result.pvalue == pytest.approx(expected_p)
    assert result.verdict == "same"  # two seeds a side decide nothing
