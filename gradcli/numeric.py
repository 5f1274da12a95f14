"""Numerical derivatives along one input: the estimators the checker trusts.

Central and forward differences (with the step made exactly representable),
Ridders' Richardson extrapolation, and the complex step through the op
table's complex forms. Each returns an `Estimate` with an error estimate
(truncation from a second step, plus rounding in f), or None when the
function cannot be evaluated close enough to the point.

The function differentiated is one output along one input (`AlongInput`:
first derivatives), or one component of gradcli's reverse-mode gradient
along one input (`GradientAlongInput`: second derivatives, for check --order 2).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Callable, Mapping

from .errors import DomainError, NonFiniteError
from .graph import Graph, forward_values, reverse_sweep, values_and_partials

EPS = sys.float_info.epsilon
COMPLEX_STEP = 1e-20
SUBNORMAL = 2.0 * 5e-324  # the spacing of doubles near 0: no difference is resolved below it
# Rounding in f is taken as this many ulps of |f|: programs accumulate a few.
F_ULPS = 8.0


@dataclass
class Estimate:
    value: float
    step: float
    error: float  # estimated absolute error of `value`
    method: str


class AlongInput:
    """f along one input: an output (and every node's value) with that input moved."""

    complex_step_applies = True

    def __init__(
        self, graph: Graph, point: Mapping[str, float], name: str, noise: float = 0.0, output: int | None = None
    ):
        self.graph, self.point, self.name = graph, dict(point), name
        self.x = point[name]
        self.output = graph.output if output is None else output  # the output node differentiated
        # Rounding in f beyond ulps of |f|: intermediates larger than f (abs((x+1e6)-1e6))
        self.noise = noise

    def _shifted(self, x: float) -> dict[str, float]:
        shifted = dict(self.point)
        shifted[self.name] = x
        return shifted

    def values(self, x: float) -> list[float] | None:
        """Every node's value with the input at x; None outside the domain."""
        try:
            return forward_values(self.graph, self._shifted(x))
        except (DomainError, NonFiniteError):
            return None

    def __call__(self, x: float) -> float | None:
        values = self.values(x)
        return None if values is None else values[self.output]

    def complex_derivative(self, h: float) -> float | None:
        """Im f(x + ih) / h through the ops' complex forms; None if that fails."""
        graph = self.graph
        values: list[complex] = [0j] * len(graph.nodes)
        names = {node_id: name for name, node_id in graph.inputs.items()}
        try:
            for node in graph.nodes:
                if node.op.forward is None:
                    if node.constant is not None:
                        values[node.id] = complex(node.constant)
                    else:
                        name = names[node.id]
                        values[node.id] = complex(self.point[name], h if name == self.name else 0.0)
                else:
                    values[node.id] = complex(node.op.complex_function()(*[values[i] for i in node.args]))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return None
        result = values[self.output].imag / h
        return result if math.isfinite(result) else None


class GradientAlongInput(AlongInput):
    """d(output)/d(component), as gradcli's reverse sweep computes it, along input `name`.

    Its derivative is the second derivative d/d(name) of d(output)/d(component),
    so the estimators above check Hessian entries with it. The reverse sweeps
    at each moved point are shared (`sweeps`) by every component along the
    same input and output: one sweep gives the whole gradient.
    """

    # The partial rules run on floats (math.cos, not cmath): no complex step
    # passes through a reverse sweep, so that method does not apply.
    complex_step_applies = False
    _KEEP = 64  # moved points remembered; Ridders and the kink probe revisit a few dozen

    def __init__(
        self,
        graph: Graph,
        point: Mapping[str, float],
        name: str,
        component: str,
        noise: float = 0.0,
        output: int | None = None,
        sweeps: dict | None = None,
    ):
        super().__init__(graph, point, name, noise, output)
        self.component = component
        self.sweeps = {} if sweeps is None else sweeps  # x -> (values, adjoints), or None outside the domain

    def _sweep(self, x: float) -> tuple[list[float], list[float]] | None:
        if x not in self.sweeps:
            try:
                values, partials = values_and_partials(self.graph, self._shifted(x))
                found = values, reverse_sweep(self.graph, partials, self.output)
            except (DomainError, NonFiniteError):
                found = None
            if len(self.sweeps) >= self._KEEP:
                del self.sweeps[next(iter(self.sweeps))]  # the oldest
            self.sweeps[x] = found
        return self.sweeps[x]

    def values(self, x: float) -> list[float] | None:
        sweep = self._sweep(x)
        return None if sweep is None else sweep[0]

    def __call__(self, x: float) -> float | None:
        sweep = self._sweep(x)
        if sweep is None:
            return None
        value = sweep[1][self.graph.inputs[self.component]]
        return value if math.isfinite(value) else None  # an infinite partial: as outside the domain

    def complex_derivative(self, h: float) -> float | None:
        return None


def _f_rounding(f, value: float) -> float:
    """How far a computed value of f may be from the exact one."""
    return F_ULPS * max(EPS * abs(value), getattr(f, "noise", 0.0)) + SUBNORMAL


def default_step(method: str, x: float) -> float:
    scale = max(1.0, abs(x))
    if method == "forward":
        return math.sqrt(EPS) * scale
    return EPS ** (1.0 / 3.0) * scale


def _representable(x: float, h: float) -> float:
    # The step actually taken: (x + h) - x, so the difference quotient divides
    # by the distance between the two points the function really saw.
    return (x + h) - x


def central(f: AlongInput, step: float | None) -> Estimate | None:
    x = f.x
    h = _representable(x, step or default_step("central", x))
    for _ in range(40):  # near a domain edge: shrink until x +- 2h all exist
        plus, minus = f(x + h), f(x - h)
        plus2, minus2 = f(x + 2.0 * h), f(x - 2.0 * h)
        if None not in (plus, minus, plus2, minus2):
            break
        h = _representable(x, h / 4.0)
        if h == 0.0:
            return None
    else:
        return None
    value = (plus - minus) / (2.0 * h)
    rounding = (_f_rounding(f, plus) + _f_rounding(f, minus)) / (2.0 * h)
    # Richardson's estimate of the h^2 term: (D(2h) - D(h)) / 3.
    truncation = abs((plus2 - minus2) / (4.0 * h) - value) / 3.0
    return Estimate(value, h, rounding + truncation, "central")


def forward_difference(f: AlongInput, step: float | None) -> Estimate | None:
    x = f.x
    h = _representable(x, step or default_step("forward", x))
    at, plus, plus2 = f(x), f(x + h), f(x + 2.0 * h)
    if at is None or plus is None:
        return None
    value = (plus - at) / h
    rounding = (_f_rounding(f, plus) + _f_rounding(f, at)) / h
    truncation = abs((plus2 - at) / (2.0 * h) - value) if plus2 is not None else 0.0
    return Estimate(value, h, rounding + truncation, "forward")


def ridders(f: AlongInput, step: float | None, same_branch: Callable[[float], bool]) -> Estimate | None:
    """Ridders' extrapolation of central differences over shrinking steps.

    Each run starts from a step that stays in the domain and on the same side
    of every kink, and divides it by 1.4 per round; its error estimate is the
    change between extrapolation orders. A start that is too large for the
    function's features stops early with a large error, so several starts
    are tried (or only --step) and the most accurate run is kept.
    """
    # Starts relative to 1 and to |x| when |x| < 1, over four octave groups:
    # sin(x) at 1e4 wants steps of ~1, cos(1/x) at 1e-3 steps of ~1e-7. No start
    # above 1/8: huge steps on a periodic f can agree with themselves, wrongly.
    scales = sorted({1.0, min(abs(f.x), 1.0) or 1.0}, reverse=True)
    starts = (step,) if step else tuple(s * 2.0**-k for s in scales for k in (3, 7, 11, 15))
    runs = [run for h in starts if (run := _ridders_run(f, h, same_branch)) is not None]
    return min(runs, key=lambda run: run.error) if runs else None


def _ridders_run(f: AlongInput, h: float, same_branch: Callable[[float], bool]) -> Estimate | None:
    x = f.x
    for _ in range(60):
        if f(x + h) is not None and f(x - h) is not None and same_branch(h):
            break
        h /= 2.0
    else:
        return None
    shrink, rounds = 1.4, 10
    table: list[list[float]] = []
    best, error, noise = math.nan, math.inf, 0.0
    for i in range(rounds):
        hi = _representable(x, h / shrink**i)
        plus, minus = f(x + hi), f(x - hi)
        if plus is None or minus is None or hi == 0.0:
            break
        # Rounding in f, amplified by the smallest step so far: extrapolation
        # can agree with itself to the last bit and still carry this error.
        noise = max(noise, max(_f_rounding(f, plus), _f_rounding(f, minus)) / hi)
        row = [(plus - minus) / (2.0 * hi)]
        factor = shrink * shrink
        for j in range(1, i + 1):
            row.append((row[j - 1] * factor - table[i - 1][j - 1]) / (factor - 1.0))
            factor *= shrink * shrink
            change = max(abs(row[j] - row[j - 1]), abs(row[j] - table[i - 1][j - 1]))
            if change <= error:
                best, error = row[j], change
        table.append(row)
        if i and abs(row[i] - table[i - 1][i - 1]) >= 2.0 * error:
            break  # higher orders only grow rounding error now
    if not math.isfinite(best) or not math.isfinite(error):
        return None
    return Estimate(best, h, error + noise, "richardson")


def complex_step(f: AlongInput) -> Estimate | None:
    # Two steps: 1e-20, and 1e-20 * |x| for |x| < 1 (x*y with y = 1e-150 and
    # x = 1e150 overflows at the first); the one with the smaller error wins.
    steps = [COMPLEX_STEP] + ([COMPLEX_STEP * abs(f.x)] if 1e-280 < abs(f.x) < 1.0 else [])
    runs = [run for h in steps if (run := _complex_run(f, h)) is not None]
    # Judged relative to the value: a garbage run can be small in absolute terms.
    return min(runs, key=lambda run: run.error / (abs(run.value) or 1e-300)) if runs else None


def _complex_run(f: AlongInput, h: float) -> Estimate | None:
    value = f.complex_derivative(h)
    doubled = f.complex_derivative(2.0 * h)
    if value is None or doubled is None:
        return None
    # No cancellation, but an h^2 term (it matters when f' is 0: x^3 at 0),
    # and Im f loses digits once h f' is subnormal (f' below ~1e-288).
    truncation = abs(doubled - value) / 3.0
    return Estimate(value, h, 4.0 * EPS * abs(value) + truncation + SUBNORMAL / h, "complex")
