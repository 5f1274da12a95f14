"""The op table: every operation's forward function and local partials, once.

Each `Op` entry is the single place where an operation is defined. The
forward pass, reverse mode, forward mode, the checker and the renderers all
read it; no derivative is written anywhere else.

`partials(args, out)` returns d(out)/d(arg_i) for every argument, given the
argument values and the already computed output, so exp, tanh and sigmoid
reuse their output the way autograd's `ans` does.

Each rule is written once for two engines: its third parameter `m` is a math
namespace, `SCALAR` (Python floats, the default) or the one `array_math()`
builds over NumPy for batch evaluation. Rules therefore use `m.where` rather
than `if`, and `SCALAR`'s functions follow IEEE arithmetic as NumPy does
(log(0) = -inf, 0^-1 = inf) instead of raising, so that computing both sides
of a `where` is safe. Forward functions raise on domain errors instead; the
scalar forward loop turns that into an error naming the node.

Conventions at non-differentiable points (documented in the README): gradcli
returns the minimum-norm subgradient, which always lies between the left and
right derivatives: abs'(0) = 0, relu'(0) = 0, and tied arguments of max/min
share the derivative equally (1/k each for k tied arguments). Where the slope
is infinite (sqrt at 0, asin/acos at +-1, x^p at x=0 with 0<p<1) the partial
is +-inf. `kink(args)` names such points so that they can be reported.
"""

from __future__ import annotations

import cmath
import functools
import math
import operator
from types import SimpleNamespace
from typing import Callable, NamedTuple, Sequence

Args = Sequence[float]


class Op(NamedTuple):
    # A NamedTuple, not a dataclass: immutable all the same, and three times
    # cheaper to define at start-up (every millisecond counts for `gradcli eval`).
    name: str
    min_args: int
    max_args: int | None  # None: any number from min_args up
    forward: Callable[..., float] | None  # None for leaves (input, const)
    # partials(args, out, m=SCALAR): see the module docstring for `m`.
    partials: Callable[..., tuple[float, ...]] | None
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
    # The forward on NumPy arrays, given the numpy module (None: `forward`
    # already works on arrays, as the arithmetic operators do).
    array_forward: Callable[..., Callable] | None = None
    # True when `partials` takes a fourth argument saying whether its last
    # argument varies: if not, that partial is never used and costs a
    # transcendental function per element in the batch engine, so it is skipped.
    constant_args: bool = False

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


# -- the scalar math namespace: IEEE results where `math` would raise ---------------------


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, with IEEE results instead of ZeroDivisionError."""
    if denominator == 0.0:
        if numerator == 0.0 or numerator != numerator:
            return math.nan
        return math.copysign(math.inf, numerator)
    return numerator / denominator


def _ieee_pow(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:
        odd = exponent == int(exponent) and int(exponent) % 2 == 1
        return math.copysign(math.inf, base) if odd else math.inf
    except (ValueError, ZeroDivisionError):
        return math.inf if base == 0.0 else math.nan  # 0^-p, or a negative base^non-integer


def _ieee_log(x: float) -> float:
    try:
        return math.log(x)
    except ValueError:
        return -math.inf if x == 0.0 else math.nan


def _where(condition, if_true, if_false):
    return if_true if condition else if_false


def _sign(x: float) -> int:
    return (x > 0.0) - (x < 0.0)


def _sigmoid(x: float) -> float:
    # 1/(1+e^-x) wherever e^-x fits in a double (the textbook form, whose
    # roundings the reference values share); below that, e^x/(1+e^x), so
    # sigmoid(-800) = 0 rather than an overflow.
    if x > -709.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _sigmoid_complement(x: float, out: float) -> float:
    # 1 - out is exact and as good as out itself while out <= 1/2; above, it
    # loses digits to out's rounding (every digit once out rounds to 1, x > 37),
    # so sigmoid(-x) is computed directly there.
    return 1.0 - out if out <= 0.5 else _sigmoid(-x)


SCALAR = SimpleNamespace(
    sin=math.sin, cos=math.cos, sinh=math.sinh, cosh=math.cosh, exp=math.exp, sqrt=math.sqrt,
    hypot=math.hypot, log=_ieee_log, pow=_ieee_pow, divide=_ratio, where=_where,
    sign=lambda x: float(_sign(x)), sigmoid=_sigmoid,
    sigmoid_complement=_sigmoid_complement,
)


_ARRAY_MATHS: dict = {}


def array_math(np) -> SimpleNamespace:
    """The same namespace over NumPy arrays, for the batch engine (numpy is passed in, not imported here).

    One namespace per numpy module, made on first use: sigmoid's array forward
    and the partial rules must share it (see `residuals`).

    The batch engine finds non-finite numbers by NumPy's floating-point flags
    (overflow, division by zero, invalid), so every function here that can turn
    finite arguments into inf or NaN must raise one: NumPy's arithmetic and
    math functions do; a NaN written out literally needs a flag beside it.
    """
    namespace = _ARRAY_MATHS.get(id(np))
    if namespace is None:
        namespace = _ARRAY_MATHS[id(np)] = _make_array_math(np)
    return namespace


def _make_array_math(np) -> SimpleNamespace:
    import weakref

    # What a forward leaves for its partial rule, as JAX's fwd hands residuals
    # to bwd: id(output array) -> (weak reference to the output, residual, rows
    # needing care or None). An entry goes when its output does, so it holds no
    # memory for long and an id is never mistaken for a later array's. Only a
    # cache: a miss recomputes.
    residuals: dict = {}

    def keep_residual(output, *residual):
        key = id(output)
        residuals[key] = (weakref.ref(output, lambda _, key=key: residuals.pop(key, None)), *residual)

    def sigmoid(x):
        e = np.negative(x)
        np.exp(e, out=e)
        value = np.add(e, 1.0)
        np.divide(1.0, value, out=value)  # not np.reciprocal: that is half as fast
        # Below -709, e^-x overflows and the textbook form gives 0; the scalar
        # form e^x / (1 + e^x) keeps the tiny value there.
        far = None
        if x.size and np.fmin.reduce(x) <= -709.0:  # fmin: a NaN row must not hide the others
            far = x <= -709.0
            z = np.exp(x[far])
            value[far] = z / (1.0 + z)
        keep_residual(value, e, far)
        return value

    def sigmoid_complement(x, out):
        # 1 - sigmoid(x) = e / (1 + e) = e * out with e = exp(-x): a product, so
        # no cancellation anywhere, and e comes from the forward for free. It
        # differs from the scalar form (1 - out, or sigmoid(-x)) by rounding only.
        entry = residuals.get(id(out))
        if entry is not None and entry[0]() is out:
            _, e, far = entry
        else:
            e = np.exp(-x)
            far = x <= -709.0 if x.size and np.fmin.reduce(x) <= -709.0 else None
        complement = e * out
        if far is not None:
            complement[far] = 1.0 - out[far]  # e overflowed there; 1 - out is exact (it is 1)
        return complement

    def power(base, exponent):
        # x^2 and x^1 (also in the slope of x^2) as a product and as x itself:
        # pow gives these to rounding too, and np.power has no shortcut for them.
        if type(exponent) is not np.ndarray:  # a constant exponent
            if exponent == 2.0:
                return np.multiply(base, base)
            if exponent == 1.0:
                return base
        return np.power(base, exponent)

    def where(condition, if_true, if_false):
        # A condition on constants alone (p == 0 in x^p) is one bool: no array to build.
        if isinstance(condition, (bool, np.bool_)):
            return if_true if condition else if_false
        # A special case (x = 0 in the slope of x^p, say) usually holds at no row:
        # then the other side, already an array, is the answer. One reduction
        # instead of np.where's pass, which costs four times as much.
        if type(if_false) is np.ndarray and if_false.shape == condition.shape and not condition.any():
            return if_false
        return np.where(condition, if_true, if_false)

    return SimpleNamespace(
        sin=np.sin, cos=np.cos, sinh=np.sinh, cosh=np.cosh, exp=np.exp, sqrt=np.sqrt,
        hypot=np.hypot, log=np.log, pow=power, divide=np.divide, where=where,
        sign=np.sign, sigmoid=sigmoid, sigmoid_complement=sigmoid_complement,
        residuals=residuals,
    )


# -- rules with more than one line --------------------------------------------------------


def _sigmoid_partials(args: Args, out: float, m=SCALAR) -> tuple[float]:
    # out * (1 - out), as the CS231n notes compute it, with 1 - out computed
    # without cancellation (`sigmoid_complement`: sigmoid(-x) where out > 1/2).
    return (out * m.sigmoid_complement(args[0], out),)


def _tanh_partials(args: Args, out: float, m=SCALAR) -> tuple[float]:
    # sech^2 x = 4 e / (1 + e)^2 with e = exp(-2|x|): no cancellation, unlike
    # 1 - tanh^2 x near |tanh x| = 1, and no overflow.
    e = m.exp(-2.0 * abs(args[0]))
    return (4.0 * e / ((1.0 + e) * (1.0 + e)),)


def _softplus(x: float) -> float:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for any finite x.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _array_softplus(np):
    return lambda x: np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _log(x: float, base: float | None = None) -> float:
    if base is None:
        return math.log(x)
    if base <= 0.0 or base == 1.0:
        raise ValueError("log base")
    return math.log(x) / math.log(base)


def _array_log(np):
    def log(x, base=None):
        if base is None:
            return np.log(x)
        # NaN for a base the scalar form refuses (log(0) would give a finite -0 quotient).
        return np.where((base > 0.0) & (base != 1.0), np.log(x) / np.log(base), np.nan)

    return log


def _log_partials(args: Args, out: float, m=SCALAR) -> tuple[float, ...]:
    x = args[0]
    if len(args) == 1:  # the arity is fixed per node, so this `if` is not about values
        return (m.divide(1.0, x),)
    base = args[1]
    log_base = m.log(base)
    # x * log(b) underflows to 0 for the tiniest x: the slope is then infinite, not an error.
    return (m.divide(1.0, x * log_base), m.divide(-out, base * log_base))


def _pow_partials(args: Args, out: float, m=SCALAR, exponent_varies: bool = True) -> tuple[float, float]:
    base, exponent = args
    # p x^(p-1) in IEEE arithmetic is right at x = 0 too: 0 for p > 1, 1 for
    # p = 1, +inf for 0 < p < 1; only p = 0 at x = 0 needs its own case (0 * inf).
    # (Only there: elsewhere at p = 0 the formula is 0 as well, and its
    # derivative in p, 1/x, is what second derivatives need.)
    d_base = exponent * m.pow(base, exponent - 1.0)
    d_base = m.where(exponent == 0.0, m.where(base == 0.0, 0.0, d_base), d_base)
    if not exponent_varies:
        # x^2 and the like: the batch engine skips a log per element (see `Op.constant_args`).
        return d_base, 0.0
    # d/dp x^p = x^p log x: defined for x > 0, tends to 0 at x = 0 (p > 0),
    # NaN for x < 0 (x^p is only real at integer p there): IEEE log says so.
    d_exponent = m.where(base == 0.0, 0.0, out * m.log(base))
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


def _extremum_partials(args: Args, out: float, m=SCALAR) -> tuple[float, ...]:
    # Ties share the derivative equally: the minimum-norm subgradient. The
    # comparisons count as 0/1, on floats and arrays alike.
    tied = sum(a == out for a in args)
    return tuple((a == out) / tied for a in args)


def _extremum_kink(name: str) -> Callable[[Args], str | None]:
    def kink(args: Args) -> str | None:
        best = max(args) if name == "max" else min(args)
        tied = sum(1 for a in args if a == best)
        return f"{name} has {tied} tied arguments" if tied > 1 else None

    return kink


def _atan2_partials(args: Args, out: float, m=SCALAR) -> tuple[float, float]:
    y, x = args
    r = m.hypot(y, x)  # (x / r) / r rather than x / r^2, which underflows; NaN at the origin
    return m.divide(m.divide(x, r), r), m.divide(m.divide(-y, r), r)


def _atan2_branch(args: Args) -> int:
    # atan2 jumps by 2 pi across the negative x axis; label the half-planes
    # there (the x = 0 boundary this adds is harmless: a kink verdict only).
    y, x = args
    return (1 if y >= 0.0 else -1) if x < 0.0 else 0


def _at_zero(message: str) -> Callable[[Args], str | None]:
    return lambda args: message if args[0] == 0.0 else None


def _at_unit(name: str) -> Callable[[Args], str | None]:
    return lambda args: f"the slope of {name} is infinite at {args[0]:g}" if abs(args[0]) == 1.0 else None


def _unit_slope(args: Args, m) -> float:
    x = args[0]
    return m.divide(1.0, m.sqrt((1.0 - x) * (1.0 + x)))


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
    Op("id", 1, 1, lambda x: x, lambda a, out, m=SCALAR: (1.0,), summary="a name bound to an existing node"),
    Op("add", 2, 2, operator.add, lambda a, out, m=SCALAR: (1.0, 1.0), summary="a + b"),
    Op("sub", 2, 2, operator.sub, lambda a, out, m=SCALAR: (1.0, -1.0), summary="a - b"),
    Op("mul", 2, 2, operator.mul, lambda a, out, m=SCALAR: (a[1], a[0]), summary="a * b"),
    # m.divide, not /: the dual numbers of second derivatives meet b = 0 (sqrt's 0.5 / out at 0).
    Op("div", 2, 2, operator.truediv, lambda a, out, m=SCALAR: (m.divide(1.0, a[1]), m.divide(-out, a[1])),
       domain="a divisor other than 0", summary="a / b"),
    Op("neg", 1, 1, operator.neg, lambda a, out, m=SCALAR: (-1.0,), summary="-x"),
    Op("pow", 2, 2, math.pow, _pow_partials,
       domain="x > 0, or x = 0 with p >= 0, or x < 0 with an integer p",
       kink=_pow_kink, summary="x ^ p, x ** p, pow(x, p)",
       complex_forward=_complex_pow, branch=_pow_branch, array_forward=lambda np: array_math(np).pow,
       constant_args=True),
    Op("sin", 1, 1, math.sin, lambda a, out, m=SCALAR: (m.cos(a[0]),), complex_forward=cmath.sin,
       array_forward=lambda np: np.sin),
    Op("cos", 1, 1, math.cos, lambda a, out, m=SCALAR: (-m.sin(a[0]),), complex_forward=cmath.cos,
       array_forward=lambda np: np.cos),
    Op("tan", 1, 1, math.tan, lambda a, out, m=SCALAR: (1.0 + out * out,), complex_forward=cmath.tan,
       array_forward=lambda np: np.tan),
    Op("asin", 1, 1, math.asin, lambda a, out, m=SCALAR: (_unit_slope(a, m),),
       domain="-1 <= x <= 1", kink=_at_unit("asin"), complex_forward=cmath.asin,
       array_forward=lambda np: np.arcsin),
    Op("acos", 1, 1, math.acos, lambda a, out, m=SCALAR: (-_unit_slope(a, m),),
       domain="-1 <= x <= 1", kink=_at_unit("acos"), complex_forward=cmath.acos,
       array_forward=lambda np: np.arccos),
    Op("atan", 1, 1, math.atan, lambda a, out, m=SCALAR: (1.0 / (1.0 + a[0] * a[0]),),
       complex_forward=cmath.atan, array_forward=lambda np: np.arctan),
    Op("sinh", 1, 1, math.sinh, lambda a, out, m=SCALAR: (m.cosh(a[0]),), complex_forward=cmath.sinh,
       array_forward=lambda np: np.sinh),
    Op("cosh", 1, 1, math.cosh, lambda a, out, m=SCALAR: (m.sinh(a[0]),), complex_forward=cmath.cosh,
       array_forward=lambda np: np.cosh),
    Op("tanh", 1, 1, math.tanh, _tanh_partials, complex_forward=cmath.tanh,
       array_forward=lambda np: np.tanh),
    Op("exp", 1, 1, math.exp, lambda a, out, m=SCALAR: (out,), complex_forward=cmath.exp,
       array_forward=lambda np: np.exp),
    Op("log", 1, 2, _log, _log_partials,
       domain="x > 0 (and, for log(x, b), a base b > 0 other than 1)",
       summary="natural logarithm; log(x, b) is the base-b logarithm", complex_forward=_complex_log,
       array_forward=_array_log),
    Op("log2", 1, 1, math.log2, lambda a, out, m=SCALAR: (m.divide(1.0, a[0] * math.log(2.0)),), domain="x > 0",
       complex_forward=lambda z: cmath.log(z) / math.log(2.0), array_forward=lambda np: np.log2),
    Op("log10", 1, 1, math.log10, lambda a, out, m=SCALAR: (m.divide(1.0, a[0] * math.log(10.0)),), domain="x > 0",
       complex_forward=cmath.log10, array_forward=lambda np: np.log10),
    Op("sqrt", 1, 1, math.sqrt, lambda a, out, m=SCALAR: (m.divide(0.5, out),), domain="x >= 0",
       kink=_at_zero("the slope of sqrt is infinite at 0"), complex_forward=cmath.sqrt,
       branch=lambda a: _sign(a[0]), array_forward=lambda np: np.sqrt),
    Op("abs", 1, 1, abs, lambda a, out, m=SCALAR: (m.sign(a[0]),),
       kink=_at_zero("abs is not differentiable at 0; gradcli uses 0"),
       complex_forward=lambda z: z if z.real >= 0.0 else -z, analytic=False,
       branch=lambda a: _sign(a[0]), array_forward=lambda np: np.abs),
    Op("sigmoid", 1, 1, _sigmoid, _sigmoid_partials,
       summary="1 / (1 + e^-x)", complex_forward=_complex_sigmoid,
       array_forward=lambda np: array_math(np).sigmoid),
    Op("relu", 1, 1, lambda x: x if x > 0.0 else 0.0, lambda a, out, m=SCALAR: (m.where(a[0] > 0.0, 1.0, 0.0),),
       kink=_at_zero("relu is not differentiable at 0; gradcli uses 0"), summary="max(x, 0)",
       complex_forward=lambda z: z if z.real > 0.0 else 0.0 * z, analytic=False,
       branch=lambda a: _sign(a[0]), array_forward=lambda np: lambda x: np.where(x > 0.0, x, 0.0)),
    Op("softplus", 1, 1, _softplus, lambda a, out, m=SCALAR: (m.sigmoid(a[0]),), summary="log(1 + e^x)",
       complex_forward=_complex_softplus, array_forward=_array_softplus),
    Op("atan2", 2, 2, math.atan2, _atan2_partials,
       kink=lambda a: "atan2 is not differentiable at (0, 0)" if a[0] == 0.0 and a[1] == 0.0 else None,
       summary="atan2(y, x): the angle of the point (x, y)", complex_forward=_complex_atan2,
       branch=_atan2_branch, array_forward=lambda np: np.arctan2),
    Op("max", 2, None, max, _extremum_partials, kink=_extremum_kink("max"),
       summary="the largest argument", analytic=False,
       complex_forward=lambda *z: _pick(z, max(v.real for v in z)),
       branch=lambda a: tuple(i for i, v in enumerate(a) if v == max(a)),
       array_forward=lambda np: lambda *a: functools.reduce(np.maximum, a)),
    Op("min", 2, None, min, _extremum_partials, kink=_extremum_kink("min"),
       summary="the smallest argument", analytic=False,
       complex_forward=lambda *z: _pick(z, min(v.real for v in z)),
       branch=lambda a: tuple(i for i, v in enumerate(a) if v == min(a)),
       array_forward=lambda np: lambda *a: functools.reduce(np.minimum, a)),
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
