"""Dual numbers built from the op table, so that second derivatives need no rules of their own.

A `Dual` is a value with a tangent (its derivative along one direction).
Every partial rule in `ops` is written over a math namespace `m`; run with
`m = DUAL` and dual arguments, a rule returns each partial together with its
own derivative along the direction. That is all forward-over-reverse needs
for Hessians (`hessian.hessians`): the first-derivative rules, once more.

The namespace and the arithmetic are lifted from the op table too: the
tangent of sin(x) is the sin entry's partial times x's tangent, the tangent
of a * b comes from the mul entry. The one exception is `hypot`, which is not
an op (only atan2's rule uses it), and `sign`, whose derivative is 0.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Callable

from .ops import OPS, SCALAR, Op


class Dual:
    __slots__ = ("value", "tangent")

    def __init__(self, value: float, tangent: float = 0.0):
        self.value = value
        self.tangent = tangent

    def __repr__(self) -> str:
        return f"Dual({self.value!r}, {self.tangent!r})"

    # Arithmetic, each from its op entry.
    def __add__(self, other):
        return _ADD(self, other)

    def __radd__(self, other):
        return _ADD(other, self)

    def __sub__(self, other):
        return _SUB(self, other)

    def __rsub__(self, other):
        return _SUB(other, self)

    def __mul__(self, other):
        return _MUL(self, other)

    def __rmul__(self, other):
        return _MUL(other, self)

    def __truediv__(self, other):
        return _DIV(self, other)

    def __rtruediv__(self, other):
        return _DIV(other, self)

    def __neg__(self):
        return _NEG(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ABS(self)

    # Comparisons decide branches (where, the ties of max): on values alone.
    def __eq__(self, other):
        return self.value == value_of(other)

    def __ne__(self, other):
        return self.value != value_of(other)

    def __lt__(self, other):
        return self.value < value_of(other)

    def __le__(self, other):
        return self.value <= value_of(other)

    def __gt__(self, other):
        return self.value > value_of(other)

    def __ge__(self, other):
        return self.value >= value_of(other)

    __hash__ = None  # mutable-looking and compared by value: not a dict key


def value_of(x) -> float:
    return x.value if isinstance(x, Dual) else x


def tangent_of(x) -> float:
    return x.tangent if isinstance(x, Dual) else 0.0


def lift(function: Callable[..., float], op: Op) -> Callable[..., Dual]:
    """`function` on dual numbers: its value, and a tangent from `op`'s partials.

    `function` computes the op's value (SCALAR's IEEE form where the rules
    need it: log(0) = -inf rather than an error). A zero tangent contributes
    nothing, even against an infinite partial (as in the tangent sweep).
    """
    partials = op.partials

    def lifted(*args):
        values = tuple(value_of(a) for a in args)
        out = function(*values)
        tangent = 0.0
        for arg, partial in zip(args, partials(values, out)):
            if isinstance(arg, Dual) and arg.tangent != 0.0:
                tangent += partial * arg.tangent
        return Dual(out, tangent)

    return lifted


def _hypot(y, x) -> Dual:
    # Not an op (atan2's rule uses it): d hypot = (y dy + x dx) / r.
    a, b = value_of(y), value_of(x)
    r = math.hypot(a, b)
    tangent = 0.0
    for value, arg in ((a, y), (b, x)):
        if tangent_of(arg) != 0.0:
            tangent += SCALAR.divide(value, r) * tangent_of(arg)
    return Dual(r, tangent)


def _sign(x) -> Dual:
    return Dual(SCALAR.sign(value_of(x)), 0.0)  # flat on either side of 0


def _sigmoid_complement(x, out) -> Dual:
    # Fix: sigmoid's partial rule calls m.sigmoid_complement, which DUAL lacked
    # (AttributeError for any Hessian through sigmoid). 1 - sigmoid(x) is
    # sigmoid(-x): its tangent comes from the sigmoid entry, its value from
    # SCALAR's cancellation-free form, as in the first-order rule.
    flipped = DUAL.sigmoid(-x) if isinstance(x, Dual) else Dual(SCALAR.sigmoid(-x))
    return Dual(SCALAR.sigmoid_complement(value_of(x), value_of(out)), flipped.tangent)


def _quotient(function: Callable[[float, float], float]) -> Callable[..., Dual]:
    """a / b on dual numbers, with the div entry's partials 1/b and -out/b grouped as (da - out db) / b.

    Fix: lifted as da * (1/b) + db * (-out/b), a tiny b overflows the partial
    -out/b even where its product with db is finite (d/db of d/dx log(x, b) at
    x = 1e-300 came out -inf; at b = 1e-300, inf - inf = NaN instead of inf).
    Dividing last keeps the tangent in range wherever it is representable.
    """

    def divide(a, b):
        out = function(value_of(a), value_of(b))
        da, db = tangent_of(a), tangent_of(b)
        if da == 0.0 and db == 0.0:
            return Dual(out, 0.0)
        numerator = da if db == 0.0 else (-(out * db) if da == 0.0 else da - out * db)
        return Dual(out, SCALAR.divide(numerator, value_of(b)))

    return divide


_ADD = lift(OPS["add"].forward, OPS["add"])
_SUB = lift(OPS["sub"].forward, OPS["sub"])
_MUL = lift(OPS["mul"].forward, OPS["mul"])
_DIV = _quotient(OPS["div"].forward)
_NEG = lift(OPS["neg"].forward, OPS["neg"])
_ABS = lift(abs, OPS["abs"])

# SCALAR's functions, over dual numbers: each is its op entry lifted.
DUAL = SimpleNamespace(
    sin=lift(SCALAR.sin, OPS["sin"]),
    cos=lift(SCALAR.cos, OPS["cos"]),
    sinh=lift(SCALAR.sinh, OPS["sinh"]),
    cosh=lift(SCALAR.cosh, OPS["cosh"]),
    exp=lift(SCALAR.exp, OPS["exp"]),
    sqrt=lift(SCALAR.sqrt, OPS["sqrt"]),
    log=lift(SCALAR.log, OPS["log"]),
    pow=lift(SCALAR.pow, OPS["pow"]),
    divide=_quotient(SCALAR.divide),
    sigmoid=lift(SCALAR.sigmoid, OPS["sigmoid"]),
    sigmoid_complement=_sigmoid_complement,
    hypot=_hypot,
    sign=_sign,
    where=SCALAR.where,  # the condition is a plain bool (comparisons are on values)
)


def dual_partials(op: Op, args: tuple, out: Dual) -> tuple:
    """op's partials at dual arguments: each partial's value and its tangent."""
    return op.partials(args, out, DUAL)
