"""Percentiles estimated from histograms (operations/close_times.py): within 2 % of the exact
value (percentile_cont's, as numpy's linear interpolation), for every group at once."""

from __future__ import annotations

import math

import numpy as np

from open311.operations import close_times
from open311.repository.statistics import BUCKET_RATIO, BUCKET_SECONDS, BUCKETS


def bucket_of(seconds: float) -> int:
    if seconds < BUCKET_SECONDS:
        return 0
    return min(BUCKETS - 1, 1 + math.floor(math.log(seconds / BUCKET_SECONDS, BUCKET_RATIO)))


def histogram(hours: np.ndarray) -> tuple[list[int], list[int]]:
    found = np.bincount([bucket_of(h * 3600) for h in hours], minlength=BUCKETS)
    buckets = [int(b) for b in np.nonzero(found)[0]][::-1]  # any order will do
    return buckets, [int(found[b]) for b in buckets]


def test_every_group_within_its_buckets():
    generator = np.random.default_rng(7)
    samples = [generator.lognormal(3, 1.5, size) for size in (1, 2, 3, 10, 101, 5000)]
    samples.append(generator.uniform(0, 0.01, 50))  # under a minute: within a minute
    estimates = close_times.percentiles([histogram(s) for s in samples], (0.5, 0.9))
    for hours, (median, p90) in zip(samples, estimates, strict=True):
        for estimate, p in ((median, 0.5), (p90, 0.9)):
            exact = float(np.percentile(hours, p * 100))
            assert estimate is not None
            assert abs(estimate - exact) <= max(0.02 * exact, 1 / 60), (p, estimate, exact)


def test_no_time_to_close_is_none():
    assert close_times.percentiles([([], []), (None, None)], (0.5,)) == [[None], [None]]
    [[only]] = close_times.percentiles([([3], [1])], (0.9,))
    assert only is not None and only > 0
