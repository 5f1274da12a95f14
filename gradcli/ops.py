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

import cmath
import math
from typing import Callable, NamedTuple, Sequence

Args = Sequence[float]


class Op(NamedTuple):
    # A NamedTuple, not a dataclass: immutable all the same, and three times
    # cheaper to define at start-up (every millisecond counts for `gradcli eval`).
    name: str
    min_args: int
    max_args: int | None  # None: any number from min_args up
    forward: Callable[..., float] | None  # None for leaves (input, const)
    partials: Callable[[Args, float], tuple[float, ...]] | None
    domain: str = ""  # where forward is defined, for error messages
    kink: Callable[[Args], str | None] | None = None
    summary: str = ""  # one line for help text and docs
    # For the complex-step checker: a version of forward that takes complex
    # arguments (None: `forward` already does, as for + - * /). Non-analytic
    # ops get a complex-safe form, exact away from their kinks.
    complex_forward: Callable[..., complex] | None = None
    analytic: bool = True
    # Which smooth piece of the op the arguments are on (the sign for abs, the
    # winner for max): a change between two points means a kink lies between.
    branch: Callable[[Args], object] | None = None

    def complex_function(self) -> Callable[..., complex]:
        return self.complex_forward or self.forward

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


def _sigmoid_partials(args: Args, out: float) -> tuple[float]:
    # out * (1 - out) loses every digit once out rounds to 1 (x > 37): there,
    # 1 - out is sigmoid(-x), computed directly.
    if out <= 0.5:
        return (out * (1.0 - out),)
    return (out * _sigmoid(-args[0]),)


def _tanh_partials(args: Args, out: float) -> tuple[float]:
    # sech^2 x = 4 e / (1 + e)^2 with e = exp(-2|x|): no cancellation, unlike
    # 1 - tanh^2 x near |tanh x| = 1, and no overflow.
    e = math.exp(-2.0 * abs(args[0]))
    return (4.0 * e / ((1.0 + e) * (1.0 + e)),)


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
    if base == 0.0 and exponent != int(exponent):
        return "x = 0 is the edge of the domain of x^p at a non-integer p: the derivative is one-sided"
    # x < 0 (integer p only) needs no kink: the NaN partial in p is reported
    # only where p depends on an input.
    return None


def _pow_branch(args: Args) -> int:
    # x^p is smooth for x > 0 and, at integer p, wherever it is defined; at a
    # non-integer p, x = 0 is the edge of the domain.
    base, exponent = args
    if base > 0.0 or exponent == int(exponent):
        return 0
    return _sign(base)


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


def _atan2_branch(args: Args) -> int:
    # atan2 jumps by 2 pi across the negative x axis; label the half-planes
    # there (the x = 0 boundary this adds is harmless: a kink verdict only).
    y, x = args
    return (1 if y >= 0.0 else -1) if x < 0.0 else 0


def _at_zero(message: str) -> Callable[[Args], str | None]:
    return lambda args: message if args[0] == 0.0 else None


def _at_unit(name: str) -> Callable[[Args], str | None]:
    return lambda args: f"the slope of {name} is infinite at {args[0]:g}" if abs(args[0]) == 1.0 else None


def _unit_slope(args: Args) -> float:
    x = args[0]
    return _ratio(1.0, math.sqrt((1.0 - x) * (1.0 + x)))


def _sign(x: float) -> int:
    return (x > 0.0) - (x < 0.0)


def _complex_sigmoid(z: complex) -> complex:
    if z.real > -709.0:
        return 1.0 / (1.0 + cmath.exp(-z))
    w = cmath.exp(z)
    return w / (1.0 + w)


def _complex_softplus(z: complex) -> complex:
    if z.real > 0.0:
        return z + cmath.log(1.0 + cmath.exp(-z))
    return cmath.log(1.0 + cmath.exp(z))


def _complex_log(z: complex, base: complex | None = None) -> complex:
    return cmath.log(z) if base is None else cmath.log(z) / cmath.log(base)


def _complex_pow(base: complex, exponent: complex) -> complex:
    if exponent.imag == 0.0 and exponent.real == int(exponent.real) and abs(exponent.real) <= 64:
        return base ** int(exponent.real)  # repeated products: exact for a negative base
    return cmath.exp(exponent * cmath.log(base))


def _complex_atan2(y: complex, x: complex) -> complex:
    # atan(y/x) plus the quadrant offset, chosen by the real parts: analytic
    # away from the origin, and equal to math.atan2 on real arguments.
    if abs(x.real) >= abs(y.real):
        offset = 0.0 if x.real > 0.0 else (math.pi if y.real >= 0.0 else -math.pi)
        return cmath.atan(y / x) + offset
    return math.copysign(math.pi / 2, y.real) - cmath.atan(x / y)


def _pick(args, best: float):
    return next(a for a in args if a.real == best)


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
       kink=_pow_kink, summary="x ^ p, x ** p, pow(x, p)",
       complex_forward=_complex_pow, branch=_pow_branch),
    Op("sin", 1, 1, math.sin, lambda a, out: (math.cos(a[0]),), complex_forward=cmath.sin),
    Op("cos", 1, 1, math.cos, lambda a, out: (-math.sin(a[0]),), complex_forward=cmath.cos),
    Op("tan", 1, 1, math.tan, lambda a, out: (1.0 + out * out,), complex_forward=cmath.tan),
    Op("asin", 1, 1, math.asin, lambda a, out: (_unit_slope(a),),
       domain="-1 <= x <= 1", kink=_at_unit("asin"), complex_forward=cmath.asin),
    Op("acos", 1, 1, math.acos, lambda a, out: (-_unit_slope(a),),
       domain="-1 <= x <= 1", kink=_at_unit("acos"), complex_forward=cmath.acos),
    Op("atan", 1, 1, math.atan, lambda a, out: (1.0 / (1.0 + a[0] * a[0]),), complex_forward=cmath.atan),
    Op("sinh", 1, 1, math.sinh, lambda a, out: (math.cosh(a[0]),), complex_forward=cmath.sinh),
    Op("cosh", 1, 1, math.cosh, lambda a, out: (math.sinh(a[0]),), complex_forward=cmath.cosh),
    Op("tanh", 1, 1, math.tanh, _tanh_partials, complex_forward=cmath.tanh),
    Op("exp", 1, 1, math.exp, lambda a, out: (out,), complex_forward=cmath.exp),
    Op("log", 1, 2, _log, _log_partials,
       domain="x > 0 (and, for log(x, b), a base b > 0 other than 1)",
       summary="natural logarithm; log(x, b) is the base-b logarithm", complex_forward=_complex_log),
    Op("log2", 1, 1, math.log2, lambda a, out: (1.0 / (a[0] * math.log(2.0)),), domain="x > 0",
       complex_forward=lambda z: cmath.log(z) / math.log(2.0)),
    Op("log10", 1, 1, math.log10, lambda a, out: (1.0 / (a[0] * math.log(10.0)),), domain="x > 0",
       complex_forward=cmath.log10),
    Op("sqrt", 1, 1, math.sqrt, lambda a, out: (_ratio(0.5, out),), domain="x >= 0",
       kink=_at_zero("the slope of sqrt is infinite at 0"), complex_forward=cmath.sqrt,
       branch=lambda a: _sign(a[0])),
    Op("abs", 1, 1, abs, lambda a, out: (float(_sign(a[0])),),
       kink=_at_zero("abs is not differentiable at 0; gradcli uses 0"),
       complex_forward=lambda z: z if z.real >= 0.0 else -z, analytic=False,
       branch=lambda a: _sign(a[0])),
    Op("sigmoid", 1, 1, _sigmoid, _sigmoid_partials,
       summary="1 / (1 + e^-x)", complex_forward=_complex_sigmoid),
    Op("relu", 1, 1, lambda x: x if x > 0.0 else 0.0, lambda a, out: (1.0 if a[0] > 0.0 else 0.0,),
       kink=_at_zero("relu is not differentiable at 0; gradcli uses 0"), summary="max(x, 0)",
       complex_forward=lambda z: z if z.real > 0.0 else 0.0 * z, analytic=False,
       branch=lambda a: _sign(a[0])),
    Op("softplus", 1, 1, _softplus, lambda a, out: (_sigmoid(a[0]),), summary="log(1 + e^x)",
       complex_forward=_complex_softplus),
    Op("atan2", 2, 2, math.atan2, _atan2_partials,
       kink=lambda a: "atan2 is not differentiable at (0, 0)" if a[0] == 0.0 and a[1] == 0.0 else None,
       summary="atan2(y, x): the angle of the point (x, y)", complex_forward=_complex_atan2,
       branch=_atan2_branch),
    Op("max", 2, None, max, _extremum_partials, kink=_extremum_kink("max"),
       summary="the largest argument", analytic=False,
       complex_forward=lambda *z: _pick(z, max(v.real for v in z)),
       branch=lambda a: tuple(i for i, v in enumerate(a) if v == max(a))),
    Op("min", 2, None, min, _extremum_partials, kink=_extremum_kink("min"),
       summary="the smallest argument", analytic=False,
       complex_forward=lambda *z: _pick(z, min(v.real for v in z)),
       branch=lambda a: tuple(i for i, v in enumerate(a) if v == min(a))),
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
