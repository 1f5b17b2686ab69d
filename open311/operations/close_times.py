"""Percentiles of times to close estimated from a histogram of the tally (its buckets:
repository.statistics).

percentile_cont's definition, the exact statement's: the value at rank p * (n - 1) of the n
sorted times, interpolated between the two ranks around it. A rank's value is estimated
inside its bucket, the bucket's values taken as spread evenly on its log scale, so never
further from the true value than the bucket is wide: 2 % (under a minute: a minute)."""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence

from open311.repository.statistics import BUCKET_RATIO, BUCKET_SECONDS, BUCKETS


def _hours_at(rank: int, buckets: Sequence[int], counts: Sequence[int], upto: list[int]) -> float:
    """The estimated value (hours) of the rank-th smallest time (0-based); ``upto``: the
    running total of ``counts``."""
    at = bisect.bisect_right(upto, rank)
    bucket, count = buckets[at], counts[at]
    inside = (rank - (upto[at] - count) + 0.5) / count
    if bucket == 0:
        seconds = BUCKET_SECONDS * inside
    elif bucket == BUCKETS - 1:  # no end: its start
        seconds = BUCKET_SECONDS * BUCKET_RATIO ** (bucket - 1)
    else:
        seconds = BUCKET_SECONDS * BUCKET_RATIO ** (bucket - 1 + inside)
    return seconds / 3600.0


def percentiles(
    buckets: Sequence[int] | None, counts: Sequence[int] | None, fractions: Sequence[float]
) -> list[float | None]:
    """Each fraction's percentile in hours from a histogram (its buckets, in any order, and
    how many times in each); None where there is no time to close."""
    if not buckets or not counts:
        return [None for _ in fractions]
    buckets, counts = zip(*sorted(zip(buckets, counts, strict=True)), strict=True)
    upto = list(itertools.accumulate(counts))
    n = upto[-1]
    if n <= 0:
        return [None for _ in fractions]
    out: list[float | None] = []
    for p in fractions:
        position = p * (n - 1)
        low = math.floor(position)
        value = _hours_at(low, buckets, counts, upto)
        if position > low:
            value += (position - low) * (_hours_at(low + 1, buckets, counts, upto) - value)
        out.append(value)
    return out
