"""The percentile every benchmark reports (benchmarks/percentiles.py)."""

from __future__ import annotations

import pytest

from benchmarks.percentiles import percentile


def test_percentile_interpolates_between_nearest_ranks() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10, unsorted order must not matter
    values.reverse()
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 10.0


def test_percentile_stays_within_a_small_sample() -> None:
    # statistics.quantiles' default would put this p99 above the maximum
    values = [3.3, 4.05, 3.1, 2.9, 3.0]
    assert max(values) >= percentile(values, 99) >= percentile(values, 95)
    assert percentile([2.5], 95) == 2.5


def test_percentile_rejects_no_values_or_an_out_of_range_q() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)
