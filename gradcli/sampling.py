"""Checking at many random points: reproducible (the seed is always reported), worst point first."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from .check import CheckResult, CheckSettings, check
from .errors import BindingError, DomainError, NonFiniteError
from .graph import Graph

_RANGE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^:]+):(.+)\Z")
MAX_ATTEMPTS_PER_SAMPLE = 20


@dataclass
class SampleReport:
    seed: int
    requested: int
    ranges: dict[str, tuple[float, float]]
    results: list[CheckResult] = field(default_factory=list)
    skipped: int = 0  # points outside the domain (or overflowing)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.failed

    def worst(self) -> CheckResult | None:
        """The failing point with the largest relative error, else the largest error overall."""
        def badness(result: CheckResult):
            errors = [p.rel_error for p in result.partials if p.rel_error is not None and not math.isnan(p.rel_error)]
            return (not result.ok, max(errors, default=0.0))

        return max(self.results, key=badness, default=None)

    def zero_everywhere(self) -> list[str]:
        """Entries (inputs, or du/dx, d²f/dx dy) exactly 0 at every point checked (a dropped term looks like this)."""
        if not self.results:
            return []
        names = [p.name for p in self.results[0].partials]
        return [n for i, n in enumerate(names) if all(r.partials[i].tested == 0.0 for r in self.results)]


def parse_ranges(texts: Iterable[str]) -> dict[str, tuple[float, float]]:
    ranges = {}
    for text in texts:
        match = _RANGE.match(text)
        try:
            low, high = (float(match.group(2)), float(match.group(3))) if match else (math.nan, math.nan)
        except ValueError:
            low = high = math.nan
        if not match or not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise BindingError(
                f"cannot read the range {text!r}",
                hint="give ranges as NAME=LOW:HIGH with LOW <= HIGH, e.g. --range x=-1:1",
            )
        ranges[match.group(1)] = (low, high)
    return ranges


def new_seed() -> int:
    return random.SystemRandom().randrange(2**32)


def check_samples(
    graph: Graph,
    point: Mapping[str, float],
    count: int,
    seed: int,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    settings: CheckSettings | None = None,
    order: int = 1,
) -> SampleReport:
    """Check at `count` random points: inside --range where given, else x +- max(1, |x|).

    Every output's Jacobian (order 1) or Hessians (order 2) at each point, as `check` does.
    """
    ranges = dict(ranges or {})
    for name in ranges:
        if name not in graph.inputs:
            raise BindingError(f"--range {name}: the program has no input named {name}")
    bounds = {
        name: ranges.get(name) or (point[name] - max(1.0, abs(point[name])), point[name] + max(1.0, abs(point[name])))
        for name in graph.inputs
    }
    rng = random.Random(seed)
    report = SampleReport(seed, count, bounds)
    for _ in range(count * MAX_ATTEMPTS_PER_SAMPLE):
        if len(report.results) == count:
            break
        sample = {name: rng.uniform(low, high) for name, (low, high) in bounds.items()}
        try:
            report.results.append(check(graph, sample, settings=settings, order=order))
        except (DomainError, NonFiniteError):
            report.skipped += 1
    return report
