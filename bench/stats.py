"""Median and spread of repeated measurements."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            raise ValueError("no measurements")
        return cls(tuple(values))

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def quartiles(self) -> tuple[float, float]:
        if self.n < 4:
            return self.low, self.high
        q = statistics.quantiles(self.values, n=4, method="inclusive")
        return q[0], q[2]

    def ms(self) -> str:
        """`median ms (p25-p75, n)`; with fewer than 4 values the spread is min-max."""
        low, high = self.quartiles()
        return f"{self.median * 1e3:.1f} ms ({low * 1e3:.1f}-{high * 1e3:.1f}, n={self.n})"

    def ratio(self) -> str:
        low, high = self.quartiles()
        return f"{self.median:.2f} ({low:.2f}-{high:.2f}, n={self.n})"

    def count(self) -> str:
        """Counts: median, and min-max when they differ."""
        median = self.median
        text = f"{median:g}"
        if self.low != self.high:
            text += f" ({self.low:g}-{self.high:g})"
        return text

    @property
    def spread_label(self) -> str:
        return "p25-p75" if self.n >= 4 else "min-max"
