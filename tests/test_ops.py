"""Per-op tests driven by the op table (design.md section 9, first layer).

Every non-leaf entry of `gradcli.ops.OPS` is checked against an independent
reference written here with mpmath: its forward value, and every partial
against a central difference computed at 50+ significant digits, at many
points inside the domain (edges included). An op added to the table without
reference data here makes `test_every_op_has_reference_data` fail.

Also: the documented conventions at kinks, the numerically careful ops in
their tails, and the errors raised outside the domain.
"""

from __future__ import annotations

import math
import random

import pytest
from mpmath import mp, mpf

import gradcli
from gradcli.errors import DomainError, NonFiniteError
from gradcli.ops import OPS

LEAVES = {"input", "const"}
OP_NAMES = [name for name in OPS if name not in LEAVES]

BASE_DPS = 50  # significant digits of every reference computation (more in the tails)
PARTIAL_REL = 1e-9  # double-precision partials against the reference
PARTIAL_ABS = 1e-12  # absolute floor for partials near zero
FORWARD_REL = 1e-12  # forward values: libm-quality results, a few ulps at most
FORWARD_ABS = 1e-300  # only absorbs subnormal/underflowed results
POINTS_PER_OP = 40


# -- the independent reference: the same functions, written with mpmath ----------------


def _mp_log(x, base=None):
    return mp.log(x) if base is None else mp.log(x) / mp.log(base)


def _mp_relu(x):
    return x if x > 0 else mpf(0)


MP_FUNCS = {
    "id": lambda x: x,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda x: -x,
    "pow": lambda x, p: mp.power(x, p),
    "sin": mp.sin,
    "cos": mp.cos,
    "tan": mp.tan,
    "asin": mp.asin,
    "acos": mp.acos,
    "atan": mp.atan,
    "sinh": mp.sinh,
    "cosh": mp.cosh,
    "tanh": mp.tanh,
    "exp": mp.exp,
    "log": _mp_log,
    "log2": lambda x: mp.log(x) / mp.log(2),
    "log10": lambda x: mp.log(x) / mp.log(10),
    "sqrt": mp.sqrt,
    "abs": lambda x: abs(x),
    "sigmoid": lambda x: 1 / (1 + mp.exp(-x)),
    "relu": _mp_relu,
    "softplus": lambda x: mp.log(1 + mp.exp(x)),
    "atan2": mp.atan2,
    "max": lambda *args: max(args),
    "min": lambda *args: min(args),
}


def _dps(args) -> int:
    """Working precision: 50 digits, plus enough to resolve e^-|x| next to 1 in the tails."""
    biggest = max((abs(a) for a in args), default=0.0)
    if biggest <= 20.0:
        return BASE_DPS
    return BASE_DPS + 20 + int(min(biggest, 2000.0) / 2.3)


def _is_real(value) -> bool:
    return type(value) is type(mpf(0))


def reference_value(name: str, args) -> mpf:
    with mp.workdps(_dps(args)):
        value = MP_FUNCS[name](*[mpf(a) for a in args])
        assert _is_real(value), f"reference {name}{tuple(args)} is not real: {value}"
        return +value


def _step(args, i) -> float:
    """The scale of the step (times 1e-20): far below every scale the function varies on near `args`.

    The scale is |a_i| (relative step), shrunk to the distance from 0, from
    +-1 (asin, acos) and from the other arguments (max, min), so that the
    two evaluation points stay on the same smooth piece of the function.
    """
    scales = [abs(args[i]) if args[i] != 0.0 else 1.0]
    if abs(args[i]) != 1.0:
        scales.append(abs(1.0 - abs(args[i])))
    scales += [abs(args[i] - a) for j, a in enumerate(args) if j != i and a != args[i]]
    return min(scales)


def reference_partial(name: str, args, i: int) -> mpf:
    """d(op)/d(arg i) by a central difference with a tiny step, in mpmath."""
    f = MP_FUNCS[name]
    scale = _step(args, i)
    # A step far below 1 needs as many more digits, for terms of order 1 to see it.
    extra = max(0, math.ceil(-math.log10(scale)))
    with mp.workdps(_dps(args) + extra):
        point = [mpf(a) for a in args]
        h = mpf(10) ** -20 * mpf(scale)
        plus, minus = list(point), list(point)
        plus[i] += h
        minus[i] -= h
        f_plus, f_minus = f(*plus), f(*minus)
        assert _is_real(f_plus) and _is_real(f_minus), f"{name}{tuple(args)}: step leaves the domain"
        return (f_plus - f_minus) / (2 * h)


def _close(got: float, ref, rel: float, floor: float) -> bool:
    if not math.isfinite(got):
        return False
    return abs(mpf(got) - ref) <= rel * abs(ref) + floor


# -- points: deterministic random samples plus hand-picked edges --------------------------


def _signed_magnitude(rng: random.Random, lo: int, hi: int) -> float:
    return rng.choice((-1.0, 1.0)) * 10.0 ** rng.uniform(lo, hi)


def _positive(rng: random.Random, lo: int = -8, hi: int = 8) -> float:
    return 10.0 ** rng.uniform(lo, hi)


def _distinct(rng: random.Random, count: int) -> tuple[float, ...]:
    while True:
        values = tuple(rng.uniform(-10.0, 10.0) for _ in range(count))
        if len(set(values)) == count:
            return values


def _wide(rng):
    return (_signed_magnitude(rng, -4, 3),) if rng.random() < 0.5 else (rng.uniform(-10.0, 10.0),)


ONE_MINUS = 1.0 - 2.0**-53  # the largest double below 1
SMALL = [1e-300, -1e-300, 1e-12, -1e-12]

# name -> (hand-picked argument tuples, sampler(rng) -> argument tuple)
POINT_SPECS = {
    "id": ([(0.0,), (1.0,), (-2.5,), (1e300,), (-1e-300,)], _wide),
    "neg": ([(0.0,), (3.0,), (-1e300,), (5e-324,)], _wide),
    "add": (
        [(1.0, 2.0), (1e300, -1e300), (1e-300, 1.0), (-3.5, 0.0), (0.1, 0.2)],
        lambda rng: (_signed_magnitude(rng, -5, 5), _signed_magnitude(rng, -5, 5)),
    ),
    "sub": (
        [(1.0, 2.0), (1e300, 1e300), (1e-300, 1.0), (0.0, -3.5), (0.3, 0.1)],
        lambda rng: (_signed_magnitude(rng, -5, 5), _signed_magnitude(rng, -5, 5)),
    ),
    "mul": (
        [(2.0, 3.0), (0.0, 5.0), (-4.0, 0.0), (1e150, 1e150), (1e-150, -1e-150), (-1.5, -2.5)],
        lambda rng: (_signed_magnitude(rng, -5, 5), _signed_magnitude(rng, -5, 5)),
    ),
    "div": (
        [(1.0, 3.0), (0.0, 2.0), (1.0, 1e-150), (-7.0, 2.0), (1e-300, 3.0), (5.0, -1e100)],
        lambda rng: (_signed_magnitude(rng, -5, 5), _signed_magnitude(rng, -5, 5)),
    ),
    "pow": (
        [
            # negative base with an integer exponent
            (-2.0, 3.0), (-2.0, -3.0), (-0.5, 4.0), (-1.5, 2.0), (-3.0, 1.0), (-7.25, 5.0),
            (-1e-3, 2.0), (-10.0, -2.0), (-1.0, 7.0), (-2.0, 0.0), (-1.1, 40.0),
            # positive base, edges
            (1e-300, 0.5), (1e-300, 2.0), (2.0, 1000.0), (10.0, -300.0), (0.5, 0.0),
            (3.0, 1.0), (1e-10, 2.5), (1e-10, 0.25), (7.0, 0.5), (1e6, -0.5), (1.0 + 2.0**-40, 1e6),
        ],
        lambda rng: (_positive(rng, -3, 3), rng.uniform(-5.0, 5.0)),
    ),
    "sin": ([(0.0,), (math.pi,), (math.pi / 2,), (1e-300,), (1e6,), (-1e3,)], _wide),
    "cos": ([(0.0,), (math.pi,), (math.pi / 2,), (1e-300,), (1e6,), (-1e3,)], _wide),
    "tan": (
        [(0.0,), (1.5707963,), (-1.5707963,), (1e-300,), (math.pi / 4,), (3.0,)],
        lambda rng: (rng.uniform(-1.5, 1.5),),
    ),
    "asin": (
        [(0.0,), (ONE_MINUS,), (-ONE_MINUS,), (1.0 - 1e-12,), (-1.0 + 1e-12,), (1e-300,), (0.5,), (-0.99,)],
        lambda rng: (rng.uniform(-1.0, 1.0),),
    ),
    "acos": (
        [(0.0,), (ONE_MINUS,), (-ONE_MINUS,), (1.0 - 1e-12,), (-1.0 + 1e-12,), (1e-300,), (0.5,), (-0.99,)],
        lambda rng: (rng.uniform(-1.0, 1.0),),
    ),
    "atan": ([(0.0,), (1e-300,), (1e10,), (-1e150,), (1.0,)], _wide),
    "sinh": ([(0.0,), (1e-300,), (700.0,), (-700.0,), (710.0,), (-20.0,)], lambda rng: (rng.uniform(-30.0, 30.0),)),
    "cosh": ([(0.0,), (1e-300,), (700.0,), (-700.0,), (710.0,), (-20.0,)], lambda rng: (rng.uniform(-30.0, 30.0),)),
    "tanh": (
        [(0.0,), (1e-300,), (10.0,), (-10.0,), (30.0,), (-30.0,), (700.0,), (-700.0,)],
        lambda rng: (rng.uniform(-20.0, 20.0),),
    ),
    "exp": (
        [(0.0,), (1e-300,), (700.0,), (-700.0,), (709.7,), (-740.0,), (1.0,)],
        lambda rng: (rng.uniform(-50.0, 50.0),),
    ),
    "log": (
        [
            (1e-300,), (1.0 - 1e-12,), (1.0 + 1e-12,), (1.0,), (1e300,), (math.e,), (2.0**-1074 * 2**60,),
            (8.0, 2.0), (1000.0, 10.0), (0.125, 0.5), (3.0, 1.0 + 1e-9), (1.0, 7.0), (1e-300, 3.0),
            (5.0, 1e-300), (1e300, 1e300),
        ],
        lambda rng: (_positive(rng, -300, 300),)
        if rng.random() < 0.5
        else (_positive(rng, -5, 5), rng.choice((rng.uniform(0.01, 0.9), rng.uniform(1.1, 100.0)))),
    ),
    "log2": ([(1e-300,), (1.0,), (1.0 + 1e-12,), (1024.0,), (1e300,)], lambda rng: (_positive(rng, -300, 300),)),
    "log10": ([(1e-300,), (1.0,), (1.0 - 1e-12,), (1000.0,), (1e300,)], lambda rng: (_positive(rng, -300, 300),)),
    "sqrt": (
        [(1e-300,), (5e-324,), (1e-12,), (1.0,), (4.0,), (1e300,), (2.0,)],
        lambda rng: (_positive(rng, -20, 20),),
    ),
    "abs": ([(1e-300,), (-1e-300,), (5e-324,), (-5e-324,), (3.0,), (-3.0,)], _wide),
    "sigmoid": (
        [(0.0,), (1e-300,), (30.0,), (-30.0,), (700.0,), (-700.0,), (800.0,), (-800.0,), (36.0,)],
        lambda rng: (rng.uniform(-40.0, 40.0),),
    ),
    "relu": ([(1e-300,), (-1e-300,), (5e-324,), (3.0,), (-3.0,)], _wide),
    "softplus": (
        [(0.0,), (1e-300,), (30.0,), (-30.0,), (700.0,), (-700.0,), (800.0,), (-800.0,), (36.0,)],
        lambda rng: (rng.uniform(-40.0, 40.0),),
    ),
    "atan2": (
        [
            (0.0, 1.0), (1.0, 0.0), (-1.0, 0.0), (1e-300, -1.0), (-1e-300, -1.0), (1.0, 1e-300),
            (1e-10, 1.0), (3.0, -4.0), (-1e150, 1e150), (1e-150, 1e-150),
        ],
        lambda rng: (_signed_magnitude(rng, -4, 4), _signed_magnitude(rng, -4, 4)),
    ),
    "max": (
        [(1.0, 2.0), (-1.0, -2.0), (1.0, 1.0 + 2.0**-40), (0.0, 1e-300), (1.0, 2.0, 3.0), (3.0, -1.0, 2.0),
         (5.0, 4.0, 6.0, -1.0), (-4.0, -3.0, -2.0, -1.0), (7.0, 7.0 - 1e-9, 0.0, 1.0)],
        lambda rng: _distinct(rng, rng.choice((2, 3, 4))),
    ),
    "min": (
        [(1.0, 2.0), (-1.0, -2.0), (1.0, 1.0 + 2.0**-40), (0.0, 1e-300), (1.0, 2.0, 3.0), (3.0, -1.0, 2.0),
         (5.0, 4.0, 6.0, -1.0), (-4.0, -3.0, -2.0, -1.0), (-7.0, -7.0 + 1e-9, 0.0, 1.0)],
        lambda rng: _distinct(rng, rng.choice((2, 3, 4))),
    ),
}


def points_for(name: str) -> list[tuple[float, ...]]:
    hand_picked, sampler = POINT_SPECS[name]
    rng = random.Random(f"gradcli-test-ops-{name}")  # str seeds are stable across runs
    points = [tuple(float(a) for a in p) for p in hand_picked]
    while len(points) < POINTS_PER_OP:
        points.append(tuple(float(a) for a in sampler(rng)))
    return points


def _undefined_partial(name: str, args, i: int) -> bool:
    """Partials documented as undefined inside the domain: d/dp x^p for x < 0."""
    return name == "pow" and i == 1 and args[0] < 0.0


# -- the table is complete -------------------------------------------------------------------


def test_every_op_has_reference_data():
    missing_function = [name for name in OP_NAMES if name not in MP_FUNCS]
    missing_points = [name for name in OP_NAMES if name not in POINT_SPECS]
    assert not missing_function, f"ops without an mpmath reference in tests/test_ops.py: {missing_function}"
    assert not missing_points, f"ops without test points in tests/test_ops.py: {missing_points}"
    assert set(MP_FUNCS) - set(OP_NAMES) == set(), "reference data for ops that no longer exist"


@pytest.mark.parametrize("name", OP_NAMES)
def test_points_cover_every_arity(name):
    assert name in POINT_SPECS, f"no test points for op {name!r}"
    op = OPS[name]
    points = points_for(name)
    assert len(points) >= 30
    upper = op.max_args if op.max_args is not None else op.min_args + 2
    wanted = set(range(op.min_args, upper + 1))
    assert {len(p) for p in points} >= wanted, f"{name}: points should use {sorted(wanted)} arguments"
    assert all(op.accepts(len(p)) for p in points)


# -- forward values and partials against mpmath ---------------------------------------------------


@pytest.mark.parametrize("name", OP_NAMES)
def test_forward_matches_mpmath(name):
    assert name in MP_FUNCS, f"no mpmath reference for op {name!r}"
    op = OPS[name]
    failures = []
    for args in points_for(name):
        got = op.forward(*args)
        ref = reference_value(name, args)
        if not _close(got, ref, FORWARD_REL, FORWARD_ABS):
            failures.append(f"{name}{args} = {got!r}, mpmath {mp.nstr(ref, 20)}")
    assert not failures, "\n".join(failures[:10])


@pytest.mark.parametrize("name", OP_NAMES)
def test_partials_match_mpmath_central_difference(name):
    assert name in MP_FUNCS, f"no mpmath reference for op {name!r}"
    op = OPS[name]
    failures = []
    checked = 0
    for args in points_for(name):
        out = op.forward(*args)
        partials = op.partials(list(args), out)
        assert len(partials) == len(args), f"{name}{args}: {len(partials)} partials for {len(args)} arguments"
        undefined_somewhere = any(_undefined_partial(name, args, i) for i in range(len(args)))
        # These points are smooth: the op must not report a kink here.
        if not undefined_somewhere:
            assert op.kink is None or op.kink(list(args)) is None, f"{name}{args}: unexpected kink"
        for i, got in enumerate(partials):
            if _undefined_partial(name, args, i):
                if not math.isnan(got):
                    failures.append(f"d{name}/darg{i} at {args}: {got!r}, documented as undefined (nan)")
                continue
            ref = reference_partial(name, args, i)
            checked += 1
            if not _close(got, ref, PARTIAL_REL, PARTIAL_ABS):
                failures.append(f"d{name}/darg{i} at {args}: got {got!r}, mpmath {mp.nstr(ref, 20)}")
    assert checked >= 30
    assert not failures, "\n".join(failures[:10])


# -- kinks: the documented conventions, between the one-sided derivatives ----------------------------

INF = math.inf

# (op, args at the kink, the documented partials there)
KINK_CASES = [
    ("abs", (0.0,), (0.0,)),
    ("abs", (-0.0,), (0.0,)),
    ("relu", (0.0,), (0.0,)),
    ("max", (1.5, 1.5), (0.5, 0.5)),
    ("max", (2.0, 2.0, 2.0), (1 / 3, 1 / 3, 1 / 3)),
    ("max", (1.0, 3.0, 3.0, -2.0), (0.0, 0.5, 0.5, 0.0)),
    ("max", (-4.0, -4.0, -4.0, -4.0), (0.25, 0.25, 0.25, 0.25)),
    ("min", (1.5, 1.5), (0.5, 0.5)),
    ("min", (2.0, 2.0, 2.0), (1 / 3, 1 / 3, 1 / 3)),
    ("min", (1.0, -3.0, 4.0, -3.0), (0.0, 0.5, 0.0, 0.5)),
    ("min", (0.0, 0.0, 0.0, 0.0), (0.25, 0.25, 0.25, 0.25)),
    ("sqrt", (0.0,), (INF,)),
    ("asin", (1.0,), (INF,)),
    ("asin", (-1.0,), (INF,)),
    ("acos", (1.0,), (-INF,)),
    ("acos", (-1.0,), (-INF,)),
    ("pow", (0.0, 0.5), (INF, 0.0)),
    ("pow", (0.0, 0.25), (INF, 0.0)),
]


def _nudge(name: str, args: tuple[float, ...]) -> list[tuple[float, ...]]:
    """Points one ulp (or one subnormal) away from a kink, where the op is smooth."""
    if name in ("max", "min"):
        best = max(args) if name == "max" else min(args)
        i = args.index(best)
        away = math.nextafter(best, INF if name == "max" else -INF)
        return [args[:i] + (away,) + args[i + 1 :]]
    if name == "pow":
        return [(5e-324, args[1])]
    if name == "atan2":
        return [(5e-324, 0.0), (0.0, -5e-324)]
    x = args[0]
    if abs(x) == 1.0:
        return [(math.nextafter(x, 0.0),)]
    if name == "sqrt":
        return [(5e-324,)]
    return [(5e-324,), (-5e-324,)]


def one_sided(name: str, args, i: int, side: int):
    """The one-sided derivative of the op in argument i (side +1: right, -1: left), in mpmath.

    None where that side leaves the domain; +-inf where the difference
    quotients grow without bound as the step shrinks.
    """
    f = MP_FUNCS[name]
    quotients = []
    with mp.workdps(80):
        point = [mpf(a) for a in args]
        f0 = f(*point)
        for k in (20, 30, 40):
            h = mpf(10) ** -k
            moved = list(point)
            moved[i] += side * h
            value = f(*moved)
            if not _is_real(value):
                return None
            quotients.append(side * (value - f0) / h)
    first, last = quotients[0], quotients[-1]
    if abs(last) > 1e12 and abs(last) > 1e4 * abs(first):
        return math.copysign(INF, last)
    return float(last)


@pytest.mark.parametrize("name,args,expected", KINK_CASES)
def test_kink_convention(name, args, expected):
    op = OPS[name]
    out = op.forward(*args)
    assert _close(out, reference_value(name, args), FORWARD_REL, FORWARD_ABS)
    partials = op.partials(list(args), out)
    for i, (got, want) in enumerate(zip(partials, expected, strict=True)):
        assert got == pytest.approx(want, rel=1e-15, abs=0.0) if math.isfinite(want) else got == want, (
            f"d{name}/darg{i} at {args}: got {got!r}, the documented convention is {want!r}"
        )
        left, right = one_sided(name, args, i, -1), one_sided(name, args, i, +1)
        sides = [s for s in (left, right) if s is not None]
        assert sides, "the reference should be defined on at least one side"
        low, high = min(sides), max(sides)
        assert low - 1e-12 <= got <= high + 1e-12, (
            f"d{name}/darg{i} at {args} = {got!r} is not between the one-sided derivatives {left}, {right}"
        )


@pytest.mark.parametrize("name,args", [(n, a) for n, a, _ in KINK_CASES] + [("atan2", (0.0, 0.0))])
def test_kink_is_described_exactly_at_the_kink(name, args):
    op = OPS[name]
    description = op.kink(list(args))
    assert isinstance(description, str) and description.strip()
    for nearby in _nudge(name, args):
        assert op.kink(list(nearby)) is None, f"{name}{nearby} is not a kink, but kink() says so"


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("count", [2, 3, 4])
def test_tied_partials_sum_to_the_directional_derivative(name, count):
    # Moving every tied argument together moves max/min at slope 1 (mpmath,
    # central difference along (1, ..., 1)); the shared partials must add up to it.
    op = OPS[name]
    args = (0.75,) * count
    partials = op.partials(list(args), op.forward(*args))
    with mp.workdps(BASE_DPS):
        h = mpf(10) ** -20
        f = MP_FUNCS[name]
        slope = (f(*[mpf(a) + h for a in args]) - f(*[mpf(a) - h for a in args])) / (2 * h)
    assert sum(partials) == pytest.approx(float(slope), rel=1e-15)
    assert all(p == pytest.approx(1.0 / count, rel=1e-15) for p in partials)


@pytest.mark.parametrize("name", ["max", "min"])
def test_ties_away_from_the_extremum_are_not_kinks(name):
    op = OPS[name]
    args = [1.0, 1.0, 3.0] if name == "max" else [3.0, 3.0, 1.0]
    assert op.kink(args) is None
    assert tuple(op.partials(args, op.forward(*args))) == (0.0, 0.0, 1.0)


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0, 2.5, 3.0])
def test_pow_at_zero_base_matches_the_right_derivative(exponent):
    # x^p at x = 0 for p = 0 or p >= 1: the slope from the right (mpmath).
    op = OPS["pow"]
    out = op.forward(0.0, exponent)
    d_base, _ = op.partials([0.0, exponent], out)
    right = one_sided("pow", (0.0, exponent), 0, +1)
    assert d_base == pytest.approx(right, abs=1e-12)
    if exponent == int(exponent):
        assert op.kink([0.0, exponent]) is None
    else:  # x < 0 is outside the domain at a non-integer p: only the right side exists
        assert "edge of the domain" in op.kink([0.0, exponent])


# -- numerically careful ops ----------------------------------------------------------------------------


def test_sigmoid_saturates_without_error():
    op = OPS["sigmoid"]
    assert op.forward(-800.0) == 0.0
    assert op.forward(800.0) == 1.0
    for x in (-800.0, 800.0, -1e308, 1e308):
        out = op.forward(x)
        assert 0.0 <= out <= 1.0
        assert all(math.isfinite(p) and p >= 0.0 for p in op.partials([x], out))
    low = gradcli.evaluate("sigmoid(x)", {"x": -800.0})
    high = gradcli.evaluate("sigmoid(x)", {"x": 800.0})
    assert low.value == 0.0 and high.value == 1.0
    assert math.isfinite(low.gradient["x"]) and math.isfinite(high.gradient["x"])


def test_softplus_saturates_without_error():
    op = OPS["softplus"]
    assert op.forward(800.0) == 800.0
    tiny = op.forward(-800.0)
    assert 0.0 <= tiny < 1e-300
    for x in (-800.0, 800.0, -1e308, 1e308):
        out = op.forward(x)
        assert math.isfinite(out) and out >= 0.0
        assert all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in op.partials([x], out))
    assert op.partials([800.0], 800.0) == (1.0,)
    result = gradcli.evaluate("softplus(x)", {"x": 800.0})
    assert result.value == 800.0 and result.gradient["x"] == 1.0


TAIL_CASES = [(name, x) for name in ("sigmoid", "softplus", "tanh", "exp") for x in (-700.0, -30.0, 30.0, 700.0)]


@pytest.mark.parametrize("name,x", TAIL_CASES)
def test_tails_keep_relative_accuracy(name, x):
    """In the tails a value or slope like e^-30 is a normal double: it must be
    accurate relative to itself, not only to within an absolute 1e-12.

    The reference is rounded to double first, so a true value that underflows
    (tanh'(700) = 4e-608) is expected as 0.
    """
    op = OPS[name]
    out = op.forward(x)
    value_ref = float(reference_value(name, (x,)))
    assert out == pytest.approx(value_ref, rel=FORWARD_REL, abs=1e-320), f"{name}({x})"
    (slope,) = op.partials([x], out)
    slope_ref = float(reference_partial(name, (x,), 0))
    assert math.isfinite(slope)
    assert slope == pytest.approx(slope_ref, rel=PARTIAL_REL, abs=1e-320), (
        f"{name}'({x}): got {slope!r}, mpmath {slope_ref!r}"
    )


# -- errors outside the domain name the node ------------------------------------------------------------

DOMAIN_CASES = [
    ("log(x)", {"x": 0.0}, "log"),
    ("log(0)", {}, "log"),
    ("sqrt(x)", {"x": -1.0}, "sqrt"),
    ("sqrt(-1)", {}, "sqrt"),
    ("1/x", {"x": 0.0}, "div"),
    ("1/0", {}, "div"),
    ("acos(x)", {"x": 2.0}, "acos"),
    ("acos(2)", {}, "acos"),
    ("x^-1", {"x": 0.0}, "pow"),
    ("0^-1", {}, "pow"),
    ("x^(1/3)", {"x": -8.0}, "pow"),
    ("(-8)^(1/3)", {}, "pow"),
    ("log(x, 1)", {"x": 2.0}, "log"),
    ("log(x, b)", {"x": 2.0, "b": 1.0}, "log"),
    ("y = x + 1\nz = 2 * log(y - 1)\nz + y", {"x": 0.0}, "log"),
]

OVERFLOW_CASES = [
    ("exp(1000)", {}, "exp"),
    ("exp(x)", {"x": 1000.0}, "exp"),
    ("cosh(1000)", {}, "cosh"),
    ("cosh(x) + 1", {"x": -1000.0}, "cosh"),
    ("1e200*1e200", {}, "mul"),
    ("x*x", {"x": 1e200}, "mul"),
]


def _assert_names_the_node(error, program: str, op_name: str) -> None:
    assert error.node is not None, "the error should name the node"
    graph = gradcli.parse(program)
    node = graph.nodes[error.node]
    assert node.op.name == op_name
    assert error.span == node.span
    assert f"node {error.node}" in error.message
    assert f"`{graph.text(node, 60)}`" in error.message


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("program,values,op_name", DOMAIN_CASES)
def test_domain_errors_name_the_node(program, values, op_name, mode):
    with pytest.raises(DomainError) as caught:
        gradcli.evaluate(program, values, mode=mode)
    assert isinstance(caught.value, gradcli.GradcliError)
    _assert_names_the_node(caught.value, program, op_name)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("program,values,op_name", OVERFLOW_CASES)
def test_overflow_raises_non_finite_error(program, values, op_name, mode):
    with pytest.raises(NonFiniteError) as caught:
        gradcli.evaluate(program, values, mode=mode)
    _assert_names_the_node(caught.value, program, op_name)
