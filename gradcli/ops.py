"""The op table: every operation's forward function and local partials, once.

Each `Op` entry is the single place where an operation is defined. The
forward pass, reverse mode, forward mode, the checker and the renderers all
read it; no derivative is written anywhere else.

`partials(args, out)` returns d(out)/d(arg_i) for every argument, given the
argument values and the already computed output, so exp, tanh and sigmoid
reuse their output the way autograd's `ans` does.

Conventions at non-differentiable points (documented in the README): gradcli
returns the minimum-norm subgradient, which always lies between the left and
right derivatives: abs'(0) = 0, relu'(0) = 0, and tied arguments of max/min
share the derivative equally (1/k each for k tied arguments). Where the slope
is infinite (sqrt at 0, asin/acos at +-1, x^p at x=0 with 0<p<1) the partial
is +-inf. `kink(args)` names such points so that they can be reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

Args = Sequence[float]


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    min_args: int
    max_args: int | None  # None: any number from min_args up
    forward: Callable[..., float] | None  # None for leaves (input, const)
    partials: Callable[[Args, float], tuple[float, ...]] | None
    domain: str = ""  # where forward is defined, for error messages
    kink: Callable[[Args], str | None] | None = None
    summary: str = ""  # one line for help text and docs

    def accepts(self, count: int) -> bool:
        return count >= self.min_args and (self.max_args is None or count <= self.max_args)

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"{self.min_args} or more arguments"
        if self.min_args == self.max_args:
            return f"{self.min_args} argument" + ("s" if self.min_args != 1 else "")
        return f"{self.min_args} or {self.max_args} arguments"


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, with IEEE results instead of ZeroDivisionError."""
    if denominator == 0.0:
        return math.copysign(math.inf, numerator) if numerator != 0.0 else math.nan
    return numerator / denominator


def _sigmoid(x: float) -> float:
    # 1/(1+e^-x) wherever e^-x fits in a double (the textbook form, whose
    # roundings the reference values share); below that, e^x/(1+e^x), so
    # sigmoid(-800) = 0 rather than an overflow.
    if x > -709.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for any finite x.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _log(x: float, base: float | None = None) -> float:
    if base is None:
        return math.log(x)
    if base <= 0.0 or base == 1.0:
        raise ValueError("log base")
    return math.log(x) / math.log(base)


def _log_partials(args: Args, out: float) -> tuple[float, ...]:
    x = args[0]
    if len(args) == 1:
        return (1.0 / x,)
    base = args[1]
    log_base = math.log(base)
    return (1.0 / (x * log_base), -out / (base * log_base))


def _pow_partials(args: Args, out: float) -> tuple[float, float]:
    base, exponent = args
    if base == 0.0:
        # x^p at 0: slope 0 for p > 1 (and p = 0), 1 for p = 1, +inf for 0 < p < 1.
        d_base = 1.0 if exponent == 1.0 else (math.inf if 0.0 < exponent < 1.0 else 0.0)
    else:
        try:
            d_base = exponent * math.pow(base, exponent - 1.0)
        except OverflowError:
            d_base = math.copysign(math.inf, exponent * out * base)
    # d/dp x^p = x^p log x: defined for x > 0, tends to 0 at x = 0 (p > 0),
    # undefined for x < 0 (x^p is only real at integer p there).
    if base > 0.0:
        d_exponent = out * math.log(base)
    elif base == 0.0:
        d_exponent = 0.0
    else:
        d_exponent = math.nan
    return d_base, d_exponent


def _pow_kink(args: Args) -> str | None:
    base, exponent = args
    if base == 0.0 and 0.0 < exponent < 1.0:
        return "the slope of x^p is infinite at x = 0 for 0 < p < 1"
    # x < 0 (integer p only) needs no kink: the NaN partial in p is reported
    # only where p depends on an input.
    return None


def _extremum_partials(args: Args, out: float) -> tuple[float, ...]:
    # Ties share the derivative equally: the minimum-norm subgradient.
    tied = sum(1 for a in args if a == out)
    return tuple(1.0 / tied if a == out else 0.0 for a in args)


def _extremum_kink(name: str) -> Callable[[Args], str | None]:
    def kink(args: Args) -> str | None:
        best = max(args) if name == "max" else min(args)
        tied = sum(1 for a in args if a == best)
        return f"{name} has {tied} tied arguments" if tied > 1 else None

    return kink


def _atan2_partials(args: Args, out: float) -> tuple[float, float]:
    y, x = args
    r = math.hypot(y, x)
    if r == 0.0:
        return math.nan, math.nan
    return (x / r) / r, (-y / r) / r


def _at_zero(message: str) -> Callable[[Args], str | None]:
    return lambda args: message if args[0] == 0.0 else None


def _at_unit(name: str) -> Callable[[Args], str | None]:
    return lambda args: f"the slope of {name} is infinite at {args[0]:g}" if abs(args[0]) == 1.0 else None


def _unit_slope(args: Args) -> float:
    x = args[0]
    return _ratio(1.0, math.sqrt((1.0 - x) * (1.0 + x)))


_OPS = [
    # Leaves: their values come from the point (input) or the program text (const).
    Op("input", 0, 0, None, None, summary="a free input of the program"),
    Op("const", 0, 0, None, None, summary="a number or the constants pi and e"),
    Op("id", 1, 1, lambda x: x, lambda a, out: (1.0,), summary="a name bound to an existing node"),
    Op("add", 2, 2, lambda a, b: a + b, lambda a, out: (1.0, 1.0), summary="a + b"),
    Op("sub", 2, 2, lambda a, b: a - b, lambda a, out: (1.0, -1.0), summary="a - b"),
    Op("mul", 2, 2, lambda a, b: a * b, lambda a, out: (a[1], a[0]), summary="a * b"),
    Op("div", 2, 2, lambda a, b: a / b, lambda a, out: (1.0 / a[1], -out / a[1]),
       domain="a divisor other than 0", summary="a / b"),
    Op("neg", 1, 1, lambda x: -x, lambda a, out: (-1.0,), summary="-x"),
    Op("pow", 2, 2, math.pow, _pow_partials,
       domain="x > 0, or x = 0 with p >= 0, or x < 0 with an integer p",
       kink=_pow_kink, summary="x ^ p, x ** p, pow(x, p)"),
    Op("sin", 1, 1, math.sin, lambda a, out: (math.cos(a[0]),)),
    Op("cos", 1, 1, math.cos, lambda a, out: (-math.sin(a[0]),)),
    Op("tan", 1, 1, math.tan, lambda a, out: (1.0 + out * out,)),
    Op("asin", 1, 1, math.asin, lambda a, out: (_unit_slope(a),),
       domain="-1 <= x <= 1", kink=_at_unit("asin")),
    Op("acos", 1, 1, math.acos, lambda a, out: (-_unit_slope(a),),
       domain="-1 <= x <= 1", kink=_at_unit("acos")),
    Op("atan", 1, 1, math.atan, lambda a, out: (1.0 / (1.0 + a[0] * a[0]),)),
    Op("sinh", 1, 1, math.sinh, lambda a, out: (math.cosh(a[0]),)),
    Op("cosh", 1, 1, math.cosh, lambda a, out: (math.sinh(a[0]),)),
    Op("tanh", 1, 1, math.tanh, lambda a, out: (1.0 - out * out,)),
    Op("exp", 1, 1, math.exp, lambda a, out: (out,)),
    Op("log", 1, 2, _log, _log_partials,
       domain="x > 0 (and, for log(x, b), a base b > 0 other than 1)",
       summary="natural logarithm; log(x, b) is the base-b logarithm"),
    Op("log2", 1, 1, math.log2, lambda a, out: (1.0 / (a[0] * math.log(2.0)),), domain="x > 0"),
    Op("log10", 1, 1, math.log10, lambda a, out: (1.0 / (a[0] * math.log(10.0)),), domain="x > 0"),
    Op("sqrt", 1, 1, math.sqrt, lambda a, out: (_ratio(0.5, out),), domain="x >= 0",
       kink=_at_zero("the slope of sqrt is infinite at 0")),
    Op("abs", 1, 1, abs, lambda a, out: (float((a[0] > 0.0) - (a[0] < 0.0)),),
       kink=_at_zero("abs is not differentiable at 0; gradcli uses 0")),
    Op("sigmoid", 1, 1, _sigmoid, lambda a, out: (out * (1.0 - out),),
       summary="1 / (1 + e^-x)"),
    Op("relu", 1, 1, lambda x: x if x > 0.0 else 0.0, lambda a, out: (1.0 if a[0] > 0.0 else 0.0,),
       kink=_at_zero("relu is not differentiable at 0; gradcli uses 0"), summary="max(x, 0)"),
    Op("softplus", 1, 1, _softplus, lambda a, out: (_sigmoid(a[0]),), summary="log(1 + e^x)"),
    Op("atan2", 2, 2, math.atan2, _atan2_partials,
       kink=lambda a: "atan2 is not differentiable at (0, 0)" if a[0] == 0.0 and a[1] == 0.0 else None,
       summary="atan2(y, x): the angle of the point (x, y)"),
    Op("max", 2, None, max, _extremum_partials, kink=_extremum_kink("max"),
       summary="the largest argument"),
    Op("min", 2, None, min, _extremum_partials, kink=_extremum_kink("min"),
       summary="the smallest argument"),
]

OPS: dict[str, Op] = {op.name: op for op in _OPS}

# Ops the grammar writes with symbols; every other non-leaf op is called by name.
OPERATOR_OPS = frozenset({"id", "add", "sub", "mul", "div", "neg"})
LEAF_OPS = frozenset({"input", "const"})

# What a user may call as name(args): every function op, plus pow(a, b).
FUNCTIONS: dict[str, Op] = {
    name: op for name, op in OPS.items() if name not in OPERATOR_OPS | LEAF_OPS
}

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
