"""Percentiles of times to close estimated from histograms of the tally (its buckets:
repository.statistics), for every group of an answer at once.

percentile_cont's definition, the exact statement's: the value at rank p * (n - 1) of the n
sorted times, interpolated between the two ranks around it. A rank's value is estimated
inside its bucket, the bucket's values taken as spread evenly on its log scale, so never
further from the true value than the bucket is wide: 2 % (under a minute: a minute)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from open311.repository.statistics import BUCKET_RATIO, BUCKET_SECONDS, BUCKETS

Histogram = tuple[Sequence[int] | None, Sequence[int] | None]  # buckets, counts (any order)


def percentiles(
    histograms: Sequence[Histogram], fractions: Sequence[float]
) -> list[list[float | None]]:
    """For each histogram (its buckets and how many times fall in each, in any order), each
    fraction's percentile in hours; None where there is no time to close. Vectorised: the
    entries of every histogram sorted once, each rank found by one search."""
    sizes = [len(b) if b and c else 0 for b, c in histograms]
    total = sum(sizes)
    if not total:
        return [[None] * len(fractions) for _ in histograms]
    owner = np.repeat(np.arange(len(histograms)), sizes)
    buckets = np.fromiter(
        itertools.chain.from_iterable(
            b or () for (b, _), n in zip(histograms, sizes, strict=True) if n
        ),
        dtype=np.int64,
        count=total,
    )
    counts = np.fromiter(
        itertools.chain.from_iterable(
            c or () for (_, c), n in zip(histograms, sizes, strict=True) if n
        ),
        dtype=np.float64,
        count=total,
    )
    order = np.lexsort((buckets, owner))  # by histogram, then bucket
    owner, buckets, counts = owner[order], buckets[order], counts[order]
    upto = np.cumsum(counts)  # running total across all histograms
    n = np.bincount(owner, weights=counts, minlength=len(histograms))
    start = np.cumsum(n) - n  # where each histogram's ranks begin in the running total

    def hours_at(rank: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(upto, start + rank, side="right"), total - 1)
        inside = (start + rank - (upto[at] - counts[at]) + 0.5) / counts[at]
        bucket = buckets[at]
        seconds = np.where(
            bucket == 0,
            BUCKET_SECONDS * inside,
            BUCKET_SECONDS * BUCKET_RATIO ** (np.minimum(bucket, BUCKETS - 1) - 1 + inside),
        )
        last = BUCKET_SECONDS * BUCKET_RATIO ** (BUCKETS - 2)  # the last bucket: its start
        return np.where(bucket == BUCKETS - 1, last, seconds) / 3600.0

    columns = []
    for p in fractions:
        position = p * np.maximum(n - 1, 0)
        low = np.floor(position)
        value = hours_at(low)
        following = hours_at(np.minimum(low + 1, np.maximum(n - 1, 0)))
        columns.append(value + (position - low) * (following - value))
    return [
        [float(column[i]) if n[i] > 0 else None for column in columns]
        for i in range(len(histograms))
    ]
