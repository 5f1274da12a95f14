"""The NumPy batch engine (gradcli.batch) against the scalar engine, row by row.

`evaluate_batch(graph, columns)` must give, at every row, what
`gradcli.evaluate(graph, point)` gives at that row's point: the same value and
gradient to rounding (a few ulps, scaled by how much rounding the scalar
computation itself can hold), the same non-finite numbers where the scalar
engine has them, and the same error (class, message, node) where it raises.
The scalar engine is the reference throughout; the batch engine is never
compared with itself except where the test is about chunking.

Covered here:

1. every op of the op table at many points: domain edges, special points
   (0, -0.0, +-1, the tails of exp/sigmoid/softplus/tanh), ties, pow's special
   bases and exponents, atan2 on the axes and at the origin, log with a base,
   and ops with constant arguments (x^2, 2^x, log(x, 10), ...);
2. random programs (hypothesis): programs written from the op table with no
   guard (so domain errors and overflows happen) and the guarded programs of
   test_properties.py, at 50 random rows each;
3. chunking: a small `batch.CHUNK_ROWS` with bad rows at chunk edges gives the
   same results as one chunk, in row order, and a bad row changes no other row;
4. errors: domain errors and overflows at some rows, non-finite inputs,
   errors of constant subgraphs, missing columns, columns of different
   lengths; broadcast numbers as columns; zero rows;
5. staged programs (the samples/ files and the seed numbers), kinks (abs,
   relu, max/min ties), and unused statements that fail;
6. the engine's shortcuts: results are arrays of their own, non-finite
   numbers are found where no result shows them, sigmoid's residual cache,
   compiled plans equal to interpreted ones (big programs') bit for bit;
7. importing gradcli and a single-point `gradcli eval` do not import numpy.

Found by these tests and fixed, kept as regressions at the end: log with a
base of 0, division by a constant 0, log(x, b) at the smallest x.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import gradcli
from gradcli import batch
from gradcli.batch import evaluate_batch
from gradcli.errors import BindingError, DomainError, GradcliError, NonFiniteError
from gradcli.graph import depends_on, reverse_sweep
from gradcli.ops import FUNCTIONS, LEAF_OPS, OPS

try:  # the guarded random programs of the property tests, where importable
    from test_properties import expressions as guarded_expressions
    from test_properties import staged_programs as guarded_staged_programs
except ImportError:  # pragma: no cover - only when run outside the tests directory
    guarded_expressions = guarded_staged_programs = None

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

# Relative tolerance against the scalar engine. Both engines run the same
# formulas in the same order; NumPy's transcendental functions may differ from
# libm's by an ulp or so, which the scales below let propagate.
REL = 1e-12
TINY = 1e-320  # absorbs only differences among subnormal results


# -- the reference: the scalar engine, one row at a time --------------------------------------------


def parse(program):
    return gradcli.parse(program) if isinstance(program, str) else program


def row_count(columns) -> int:
    lengths = {np.shape(c)[0] for c in columns.values() if np.ndim(c) == 1}
    assert len(lengths) <= 1, "test columns must have one length"
    return lengths.pop() if lengths else 1


def row_point(graph, columns, row: int) -> dict[str, float]:
    return {
        name: float(columns[name][row] if np.ndim(columns[name]) == 1 else columns[name]) for name in graph.inputs
    }


def scalar_outcome(graph, point):
    """(Evaluation, None), or (None, the GradcliError the scalar engine raises)."""
    try:
        return gradcli.evaluate(graph, point), None
    except GradcliError as error:
        return None, error


def rounding_scales(evaluation) -> tuple[float, dict[str, float]]:
    """How large the rounding in the value and in each partial can legitimately be.

    The gradient's scale is the same reverse sweep over |partials| (the sum of
    |products| over all paths); the value's is sum |d out/d node| * |node|,
    what one relative rounding in every node can move the output by.
    """
    graph = evaluation.graph
    absolute = [tuple(abs(p) for p in partials) for partials in evaluation.partials]
    adjoints = reverse_sweep(graph, absolute)
    terms = [a * abs(v) for a, v in zip(adjoints, evaluation.values)]
    value_scale = sum(t for t in terms if math.isfinite(t))
    gradient_scales = {}
    for name, node_id in graph.inputs.items():
        scale = adjoints[node_id]
        gradient_scales[name] = scale if math.isfinite(scale) else 0.0
    return value_scale, gradient_scales


def same_number(got: float, expected: float, scale: float, rel: float) -> bool:
    if not math.isfinite(expected):  # the same inf, or NaN for NaN
        return got == expected or (math.isnan(got) and math.isnan(expected))
    return math.isfinite(got) and abs(got - expected) <= rel * max(abs(expected), scale) + TINY


def describe(graph, row, point) -> str:
    return f"{graph.source!r} at row {row} {point}"


def assert_row_matches_scalar(graph, result, row: int, point: dict[str, float], rel: float = REL) -> str:
    """One row of a BatchResult against the scalar engine; returns "error", "non-finite" or "finite"."""
    where = describe(graph, row, point)
    evaluation, error = scalar_outcome(graph, point)
    gradient_row = {name: float(column[row]) for name, column in result.gradient.items()}
    if error is not None:
        got = result.errors.get(row)
        assert got is not None, (
            f"{where}: the scalar engine raises {type(error).__name__}: {error}; "
            f"the batch gives value {result.values[row]!r}, gradient {gradient_row}"
        )
        assert (type(got), str(got), got.node) == (type(error), str(error), error.node), (
            f"{where}: batch error {type(got).__name__}: {got} (node {got.node}); "
            f"scalar error {type(error).__name__}: {error} (node {error.node})"
        )
        assert math.isnan(result.values[row]), f"{where}: an error row holds value {result.values[row]!r}"
        assert all(math.isnan(g) for g in gradient_row.values()), f"{where}: an error row holds {gradient_row}"
        return "error"
    assert row not in result.errors, (
        f"{where}: the batch reports {type(result.errors[row]).__name__}: {result.errors[row]}; "
        f"the scalar engine gives value {evaluation.value!r}, gradient {evaluation.gradient}"
    )
    value_scale, gradient_scales = rounding_scales(evaluation)
    assert same_number(float(result.values[row]), evaluation.value, value_scale, rel), (
        f"{where}: batch value {result.values[row]!r}, scalar {evaluation.value!r}"
    )
    for name, expected in evaluation.gradient.items():
        assert same_number(gradient_row[name], expected, gradient_scales[name], rel), (
            f"{where}: batch d/d{name} {gradient_row[name]!r}, scalar {expected!r} "
            f"(whole gradient: batch {gradient_row}, scalar {evaluation.gradient})"
        )
    numbers = [evaluation.value, *evaluation.gradient.values()]
    return "finite" if all(math.isfinite(n) for n in numbers) else "non-finite"


def check_batch(program, columns, rel: float = REL) -> tuple[batch.BatchResult, dict[str, int]]:
    """evaluate_batch against the scalar engine at every row; also the shapes. Returns (result, kinds of rows)."""
    graph = parse(program)
    result = evaluate_batch(graph, columns)
    rows = row_count(columns)
    assert result.values.shape == (rows,)
    assert len(result) == rows
    assert set(result.gradient) == set(graph.inputs)
    for name, column in result.gradient.items():
        assert column.shape == (rows,), name
    assert set(result.errors) <= set(range(rows))
    kinds = {"error": 0, "non-finite": 0, "finite": 0}
    for row in range(rows):
        kinds[assert_row_matches_scalar(graph, result, row, row_point(graph, columns, row), rel)] += 1
    return result, kinds


def grid(**axes) -> dict[str, np.ndarray]:
    """Every combination of the given values, as columns."""
    names = list(axes)
    rows = list(itertools.product(*(axes[n] for n in names)))
    return {name: np.array([row[i] for row in rows], dtype=np.float64) for i, name in enumerate(names)}


def spread(low: float, high: float, count: int = 25, seed: int = 0) -> list[float]:
    return list(np.random.default_rng(seed).uniform(low, high, count))


# -- 1. every op of the table ------------------------------------------------------------------------

SMALL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, math.pi / 2, -math.pi, 1e-300, -1e-300, 5e-324]
TAILS = [30.0, -30.0, 40.0, -40.0, 700.0, -700.0, 708.9, -708.9, 709.0, -709.0, 709.5, -709.5,
         710.0, -710.0, 720.0, -720.0, -745.0, -800.0]
WIDE = SMALL + TAILS + spread(-5.0, 5.0) + spread(-50.0, 50.0, seed=1)
UNIT = [-1.0, 1.0, 0.0, -0.0, 0.5, -0.5, 1.0 - 2**-53, -1.0 + 2**-53, 0.999, -0.999, 1e-300,
        1.0 + 2**-52, -1.0 - 2**-52, 1.5, -2.0] + spread(-1.0, 1.0)
POSITIVE = [1.0, 2.0, 0.5, 1e-300, 5e-324, 1e300, math.e, 10.0, 0.0, -0.0, -1.0, -1e-300] + spread(1e-3, 20.0)
BASES = [0.0, -0.0, 0.5, 1.0, 2.0, -1.0, -2.0, -1.5, 3.7, 1e-3, 10.0, -0.5]
EXPONENTS = [0.0, -0.0, 0.5, 1.0, 2.0, 3.0, -1.0, -2.0, 2.5, -0.5, 1.5, 1000.0, -1000.0, 7.0]
ANGLE_AXES = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, 1e-300]
TIES = [0.0, -0.0, 1.0, -1.0, 2.0]

# (program, columns, the kinds of rows that must occur): every argument of the op is an input.
# Kinds: "finite" numbers, "non-finite" numbers (an infinite slope), "error" rows.
OP_CASES = {
    "id": ("t = x; t", grid(x=WIDE), "finite"),
    "add": ("x + y", grid(x=SMALL + [1e308], y=SMALL + [1e308]), "finite error"),
    "sub": ("x - y", grid(x=SMALL + [-1e308], y=SMALL + [1e308]), "finite error"),
    "mul": ("x * y", grid(x=SMALL + [1e200], y=SMALL + [1e200]), "finite error"),
    "div": ("x / y", grid(x=SMALL, y=SMALL), "finite non-finite error"),
    "neg": ("-x", grid(x=WIDE), "finite"),
    "pow": ("pow(x, p)", grid(x=BASES, p=EXPONENTS), "finite non-finite error"),
    "sin": ("sin(x)", grid(x=WIDE + [1e5, 1e15]), "finite"),
    "cos": ("cos(x)", grid(x=WIDE + [1e5, 1e15]), "finite"),
    "tan": ("tan(x)", grid(x=WIDE + [1e5, math.pi / 4]), "finite"),
    "asin": ("asin(x)", grid(x=UNIT), "finite non-finite error"),
    "acos": ("acos(x)", grid(x=UNIT), "finite non-finite error"),
    "atan": ("atan(x)", grid(x=WIDE + [1e200, -1e200]), "finite"),
    "sinh": ("sinh(x)", grid(x=WIDE), "finite error"),
    "cosh": ("cosh(x)", grid(x=WIDE), "finite error"),
    "tanh": ("tanh(x)", grid(x=WIDE), "finite"),
    "exp": ("exp(x)", grid(x=WIDE + [709.78, 709.79]), "finite error"),
    "log": ("log(x)", grid(x=POSITIVE), "finite non-finite error"),
    "log2": ("log2(x)", grid(x=POSITIVE), "finite non-finite error"),
    "log10": ("log10(x)", grid(x=POSITIVE), "finite non-finite error"),
    "sqrt": ("sqrt(x)", grid(x=POSITIVE), "finite non-finite error"),
    "abs": ("abs(x)", grid(x=WIDE), "finite"),
    "sigmoid": ("sigmoid(x)", grid(x=WIDE + [-1000.0, 1000.0]), "finite"),
    "relu": ("relu(x)", grid(x=WIDE), "finite"),
    "softplus": ("softplus(x)", grid(x=WIDE + [-1000.0, 1000.0]), "finite"),
    "atan2": ("atan2(y, x)", grid(y=ANGLE_AXES + spread(-4, 4, 6), x=ANGLE_AXES + spread(-4, 4, 6, seed=2)),
              "finite non-finite"),
    "max": ("max(x, y, z)", grid(x=TIES, y=TIES, z=TIES), "finite"),
    "min": ("min(x, y, z)", grid(x=TIES, y=TIES, z=TIES), "finite"),
}

# The same ops with some arguments fixed in the program text (a constant
# exponent skips d/dp in the batch engine; constants are computed once).
CONSTANT_ARGUMENT_CASES = [
    ("x^2", grid(x=WIDE), "finite"),
    ("x^0.5", grid(x=POSITIVE), "finite non-finite error"),
    ("x^0", grid(x=WIDE), "finite"),
    ("x^1", grid(x=WIDE), "finite"),
    ("x^3", grid(x=WIDE + [1e103, -1e103, 1e102]), "finite error"),
    ("x^-1", grid(x=SMALL + TAILS), "finite non-finite error"),
    ("x^-2", grid(x=SMALL), "finite error"),
    ("x^2.5", grid(x=BASES), "finite error"),
    ("x ** 0.5 + pow(x, 1.5)", grid(x=POSITIVE), "finite non-finite error"),
    ("2^x", grid(x=WIDE + [1023.0, 1024.0, -1074.0, -1080.0]), "finite error"),
    ("0^x", grid(x=EXPONENTS), "finite error"),
    ("(-2)^x", grid(x=EXPONENTS + [0.5, 3.0, -3.0]), "non-finite error"),
    ("e^x", grid(x=WIDE), "finite error"),
    ("log(x, 10)", grid(x=POSITIVE), "finite non-finite error"),
    ("log(x, 0.5)", grid(x=POSITIVE), "finite non-finite error"),
    ("log(x, 1)", grid(x=[2.0, 1.0, 0.5]), "error"),
    ("log(x, -2)", grid(x=[2.0, 1.0]), "error"),
    ("log(8, x)", grid(x=POSITIVE + [1.0, -2.0]), "finite non-finite error"),
    ("log(x, b)", grid(x=[2.0, 1.0, 0.5, 1e-300, 1e300, 8.0], b=[2.0, 0.5, 10.0, math.e, 1.0, -2.0, 1e-300]),
     "finite error"),
    ("x / 3 + 3 / x", grid(x=SMALL), "finite non-finite error"),
    ("max(x, 0) + min(x, 1, 2 * x)", grid(x=TIES + spread(-3, 3)), "finite"),
    ("atan2(x, 0) + atan2(0, x) + atan2(-0, x)", grid(x=ANGLE_AXES), "finite non-finite"),
    ("sigmoid(x - 700) * softplus(x + 700)", grid(x=WIDE), "finite"),
    ("tanh(x * 20)", grid(x=WIDE), "finite"),
    ("asin(x / 2) + acos(0.5 * x)", grid(x=UNIT + [2.0, -2.0, 2.5]), "finite non-finite error"),
]


def test_every_op_has_a_case():
    covered = set()
    for program, _, _ in [*OP_CASES.values(), *CONSTANT_ARGUMENT_CASES]:
        covered |= {node.op.name for node in gradcli.parse(program).nodes}
    assert covered >= set(OPS) - LEAF_OPS, f"ops without a batch test: {sorted(set(OPS) - LEAF_OPS - covered)}"
    assert set(OP_CASES) == set(OPS) - LEAF_OPS


def assert_kinds(program: str, kinds: dict[str, int], expected: str) -> None:
    """The rows were of the kinds the case is meant to cover, and errors only where expected."""
    for kind in expected.split():
        assert kinds[kind] > 0, f"{program}: no {kind} row was tested (rows by kind: {kinds})"
    if "error" not in expected.split():
        assert kinds["error"] == 0, f"{program}: unexpected error rows (rows by kind: {kinds})"


@pytest.mark.parametrize("name", list(OP_CASES))
def test_op_matches_scalar_engine(name):
    program, columns, expected = OP_CASES[name]
    _, kinds = check_batch(program, columns)
    assert_kinds(program, kinds, expected)


@pytest.mark.parametrize(("program", "columns", "expected"), CONSTANT_ARGUMENT_CASES,
                         ids=[case[0] for case in CONSTANT_ARGUMENT_CASES])
def test_op_with_constant_arguments_matches_scalar_engine(program, columns, expected):
    _, kinds = check_batch(program, columns)
    assert_kinds(program, kinds, expected)


def test_infinite_and_nan_slopes_are_the_scalar_engines():
    """Rows with +-inf or NaN partials are numbers (not errors), exactly as the scalar engine has them."""
    cases = [
        ("sqrt(x)", {"x": np.array([0.0, 4.0])}, {"x": [math.inf, 0.25]}),
        ("asin(x)", {"x": np.array([1.0, -1.0, 0.0])}, {"x": [math.inf, math.inf, 1.0]}),
        ("acos(x)", {"x": np.array([1.0, 0.0])}, {"x": [-math.inf, -1.0]}),
        ("x^0.5", {"x": np.array([0.0])}, {"x": [math.inf]}),
        ("atan2(y, x)", {"y": np.array([0.0, 1.0]), "x": np.array([0.0, 0.0])},
         {"y": [math.nan, 0.0], "x": [math.nan, -1.0]}),
        ("pow(x, p)", {"x": np.array([-2.0]), "p": np.array([3.0])}, {"x": [12.0], "p": [math.nan]}),
    ]
    for program, columns, expected in cases:
        result, kinds = check_batch(program, columns)
        assert kinds["error"] == 0 and kinds["non-finite"] >= 1, (program, kinds)
        for name, numbers in expected.items():
            np.testing.assert_array_equal(result.gradient[name], numbers, err_msg=f"{program} d/d{name}")


# -- 2. random programs -------------------------------------------------------------------------------

INPUTS = ("x", "y", "z")
ROWS = 50

# Operators and functions straight from the op table, with no guard: domain
# errors, overflows and infinite slopes happen and must match too.
OPERATOR_FORMS = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})",
    "neg": "(-{0})", "pow": "({0})^({1})",
}
LEAF_NUMBERS = ["0", "1", "2", "0.5", "3", "pi", "e", "(-1)", "(-0.5)", "10"]


def op_call(name: str, args: list[str]) -> str:
    if name in OPERATOR_FORMS:
        return OPERATOR_FORMS[name].format(*args)
    return f"{name}({', '.join(args)})"


@st.composite
def table_expressions(draw, names=INPUTS, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.integers(0, 4)) == 0:
            return draw(st.sampled_from(LEAF_NUMBERS))
        return draw(st.sampled_from(names))
    name = draw(st.sampled_from(sorted(set(FUNCTIONS) | set(OPERATOR_FORMS))))
    op = OPS[name]
    count = draw(st.integers(op.min_args, op.max_args if op.max_args is not None else op.min_args + 2))
    return op_call(name, [draw(table_expressions(names=names, depth=depth - 1)) for _ in range(count)])


@st.composite
def table_programs(draw):
    """An expression, or statements (t1 = ..., x += ..., unused ones) ending in one."""
    names = list(INPUTS)
    statements = []
    for k in range(draw(st.integers(0, 3))):
        expression = draw(table_expressions(names=tuple(names), depth=2))
        if draw(st.booleans()):
            statements.append(f"t{k} = {expression}")
            names.append(f"t{k}")
        else:
            target, assign = draw(st.sampled_from(names)), draw(st.sampled_from(["=", "+=", "*=", "/="]))
            statements.append(f"{target} {assign} {expression}")
    statements.append(draw(table_expressions(names=tuple(names), depth=3)))
    return "; ".join(statements)


SPECIAL_VALUES = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, 30.0, -40.0, 700.0, -720.0, 1e-300]
NON_FINITE = [math.nan, math.inf, -math.inf]
ENTRIES = st.one_of(
    st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False),
    st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False),
    st.sampled_from(SPECIAL_VALUES),
    st.sampled_from(NON_FINITE + [1.0] * 12),  # a non-finite input now and then
)
GUARDED_ENTRIES = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def columns_of(entries) -> st.SearchStrategy:
    column = st.lists(entries, min_size=ROWS, max_size=ROWS).map(lambda v: np.array(v, dtype=np.float64))
    return st.fixed_dictionaries({name: column for name in INPUTS})


RANDOM_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking: each example is 50 rows evaluated twice, shrinking one can
    # take minutes, and the failure message already names the program and row.
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def assert_constant_error_matches_scalar(graph, columns, error: GradcliError) -> None:
    """evaluate_batch raised: the program has a failing node no input reaches, and so fails at every row."""
    varies = depends_on(graph)
    assert isinstance(error, (DomainError, NonFiniteError)) and error.node is not None, (
        f"{graph.source!r}: evaluate_batch raised {type(error).__name__}: {error}"
    )
    assert not varies[error.node], f"{graph.source!r}: evaluate_batch raised for an input-dependent node: {error}"
    for row in range(row_count(columns)):
        point = row_point(graph, columns, row)
        _, scalar_error = scalar_outcome(graph, point)
        assert scalar_error is not None, f"{describe(graph, row, point)}: batch raised {error}; the scalar engine not"
        # The scalar engine stops at the first failing node: the same constant one,
        # unless an input-dependent node (or a non-finite input) fails first.
        if scalar_error.node is not None and not varies[scalar_error.node]:
            assert (type(scalar_error), str(scalar_error)) == (type(error), str(error))


def check_random_program(program: str, columns: dict[str, np.ndarray], rel: float = 1e-11) -> None:
    graph = gradcli.parse(program)
    used = {name: columns[name] for name in graph.inputs}
    try:
        result = evaluate_batch(graph, used)
    except GradcliError as error:
        assert_constant_error_matches_scalar(graph, used, error)
        return
    assert result.values.shape == (row_count(used),)
    for row in range(row_count(used)):
        assert_row_matches_scalar(graph, result, row, row_point(graph, used, row), rel)


@RANDOM_SETTINGS
@given(table_programs(), columns_of(ENTRIES))
def test_random_table_programs_match_scalar_engine(program, columns):
    check_random_program(program, columns)


@RANDOM_SETTINGS
@given(table_programs(), columns_of(ENTRIES))
def test_random_table_programs_match_scalar_engine_interpreted(program, columns):
    with interpreted():
        check_random_program(program, columns)


@pytest.mark.skipif(guarded_expressions is None, reason="tests/test_properties.py is not importable")
@RANDOM_SETTINGS
@given(st.data(), columns_of(GUARDED_ENTRIES))
def test_random_guarded_programs_match_scalar_engine(data, columns):
    program = data.draw(st.one_of(guarded_expressions(depth=4, top=True), guarded_staged_programs()))
    check_random_program(program, columns)


# -- 3. chunks ---------------------------------------------------------------------------------------

CHUNK_PROGRAM = "t = log(x) * y; u = t + 1 / (y - 1); sqrt(abs(x)) * u + max(x, y)"


def chunk_columns() -> dict[str, np.ndarray]:
    """50 rows with bad rows at the edges of chunks of 7 (rows 0, 6, 7, 13, 14, 20, 48, 49)."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 3.0, ROWS)
    y = rng.uniform(-2.0, 0.5, ROWS)
    x[0] = -1.0  # log of a negative number: DomainError
    y[6] = 1.0  # 1 / 0: DomainError
    x[7] = math.nan  # BindingError
    x[13] = 0.0  # log(0): DomainError
    y[14] = math.inf  # BindingError
    x[20] = y[20] = 0.25  # a max tie: half the slope each, no error
    x[48] = 1e300
    y[48] = -1e300  # log(x) * y overflows: NonFiniteError
    x[49] = 1e-300  # sqrt(abs(x)) has slope 1/(2 sqrt(x)), large but finite
    return {"x": x, "y": y}


def assert_same_results(a, b, what: str) -> None:
    """Bit-for-bit equal BatchResults (NaN where NaN, signs of zeros included)."""
    for got, expected, label in [(a.values, b.values, "values")] + [
        (a.gradient[n], b.gradient[n], f"d/d{n}") for n in b.gradient
    ]:
        assert got.shape == expected.shape, f"{what}: {label} shapes {got.shape} {expected.shape}"
        same = (got == expected) | (np.isnan(got) & np.isnan(expected))
        same &= np.signbit(got) == np.signbit(expected)
        assert same.all(), f"{what}: {label} differ at rows {np.flatnonzero(~same)}"
    errors_a = {row: (type(e), str(e)) for row, e in a.errors.items()}
    errors_b = {row: (type(e), str(e)) for row, e in b.errors.items()}
    assert errors_a == errors_b, what


def test_chunk_columns_have_the_bad_rows_they_claim():
    result, kinds = check_batch(CHUNK_PROGRAM, chunk_columns())
    errors = {row: type(error) for row, error in result.errors.items()}
    assert errors == {
        0: DomainError, 6: DomainError, 7: BindingError, 13: DomainError, 14: BindingError, 48: NonFiniteError,
    }
    assert kinds["finite"] == ROWS - len(errors)


@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 49, 50, 51])
def test_small_chunks_give_the_same_results_in_order(monkeypatch, chunk_rows):
    columns = chunk_columns()
    graph = gradcli.parse(CHUNK_PROGRAM)
    one_chunk = evaluate_batch(graph, columns)
    monkeypatch.setattr(batch, "CHUNK_ROWS", chunk_rows)
    chunked = evaluate_batch(graph, columns)
    assert_same_results(chunked, one_chunk, f"CHUNK_ROWS={chunk_rows}")
    # Row order: each row is still that row's point (against the scalar engine).
    for row in range(ROWS):
        assert_row_matches_scalar(graph, chunked, row, row_point(graph, columns, row))


def test_chunks_with_a_broadcast_column(monkeypatch):
    monkeypatch.setattr(batch, "CHUNK_ROWS", 7)
    columns = {"x": chunk_columns()["x"], "y": -0.75}
    result, _ = check_batch(CHUNK_PROGRAM, columns)
    # log(x) fails at rows 0 and 13, x is NaN at row 7; row 48 no longer overflows (log(1e300) * -0.75).
    assert set(result.errors) == {0, 7, 13}
    assert result.gradient["y"].shape == (ROWS,)


@pytest.mark.parametrize("chunk_rows", [7, batch.CHUNK_ROWS])
def test_a_bad_row_changes_no_other_row(monkeypatch, chunk_rows):
    monkeypatch.setattr(batch, "CHUNK_ROWS", chunk_rows)
    columns = chunk_columns()
    graph = gradcli.parse(CHUNK_PROGRAM)
    full = evaluate_batch(graph, columns)
    for bad in sorted(full.errors):
        keep = np.arange(ROWS) != bad
        without = evaluate_batch(graph, {n: c[keep] for n, c in columns.items()})
        renumbered = {r + (r >= bad): e for r, e in without.errors.items()}
        assert {r: str(e) for r, e in renumbered.items()} == {r: str(e) for r, e in full.errors.items() if r != bad}
        for label, got, expected in [("values", full.values[keep], without.values)] + [
            (f"d/d{n}", full.gradient[n][keep], without.gradient[n]) for n in full.gradient
        ]:
            np.testing.assert_array_equal(got, expected, err_msg=f"without row {bad}: {label}")


def test_inputs_are_not_modified():
    columns = chunk_columns()
    copies = {name: column.copy() for name, column in columns.items()}
    evaluate_batch(gradcli.parse(CHUNK_PROGRAM), columns)
    evaluate_batch(gradcli.parse("t = x; sigmoid(t) + softplus(y) + x"), columns)
    for name in columns:
        np.testing.assert_array_equal(columns[name], copies[name], err_msg=name)


# -- 4. errors, broadcasting, zero rows -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "values", "bad_rows", "error"),
    [
        ("log(x)", [2.0, 0.0, -1.0, 0.5, -0.0, 1e-300], {1, 2, 4}, DomainError),
        ("1 / (x - 1)", [0.0, 1.0, 2.0, 1.0 + 2**-52], {1}, DomainError),
        ("sqrt(x) + x", [4.0, -1.0, 0.25, -1e-300], {1, 3}, DomainError),
        ("exp(x) * 2", [1.0, 1000.0, -1000.0, 709.0, 710.0], {1, 4}, NonFiniteError),
        ("asin(x)", [0.5, 2.0, -1.0000000000000002, 1.0], {1, 2}, DomainError),
        ("pow(x, 0.5) + pow(x, -1)", [4.0, -4.0, 0.0], {1, 2}, DomainError),
        ("x * 1e300 * 1e300", [0.0, 1e-300, 1.0], {2}, NonFiniteError),
    ],
)
def test_domain_errors_at_some_rows(program, values, bad_rows, error):
    result, _ = check_batch(program, {"x": np.array(values)})
    assert set(result.errors) == bad_rows
    for row in bad_rows:
        got = result.errors[row]
        assert type(got) is error
        node = gradcli.parse(program).nodes[got.node]
        assert f"node {got.node} `" in str(got) and node.op.name in str(got), str(got)


def test_non_finite_inputs_are_binding_errors_of_their_rows_only():
    x = np.array([1.0, math.nan, 2.0, math.inf, -math.inf, 3.0])
    y = np.array([1.0, 1.0, math.nan, 2.0, math.nan, 4.0])
    result, _ = check_batch("x * y + x", {"x": x, "y": y})
    assert {row: type(e) for row, e in result.errors.items()} == {r: BindingError for r in (1, 2, 3, 4)}
    assert "the value of x is nan" in str(result.errors[1])
    assert "the value of y is nan" in str(result.errors[2])
    assert "the value of x is -inf" in str(result.errors[4])  # x comes first, as in the scalar engine
    np.testing.assert_array_equal(result.values[[0, 5]], [2.0, 15.0])
    np.testing.assert_array_equal(result.gradient["x"][[0, 5]], [2.0, 5.0])


def test_a_non_finite_broadcast_number_fails_every_row():
    result, kinds = check_batch("x + y", {"x": np.arange(4.0), "y": math.nan})
    assert kinds == {"error": 4, "non-finite": 0, "finite": 0}


@pytest.mark.parametrize(
    ("program", "error"),
    [
        ("log(-1) + x", DomainError),
        ("x * exp(1000)", NonFiniteError),
        ("t = sqrt(-1); x", DomainError),  # unused, yet computed
        ("x + 1 / (2 - 2)", DomainError),
    ],
)
def test_errors_of_constant_subgraphs_raise(program, error):
    graph = gradcli.parse(program)
    with pytest.raises(GradcliError) as scalar:
        gradcli.evaluate(graph, {"x": 1.0})
    with pytest.raises(error) as raised:
        evaluate_batch(graph, {"x": np.array([1.0, 2.0])})
    assert type(raised.value) is type(scalar.value) is error
    assert str(raised.value) == str(scalar.value)


def test_a_missing_column_is_a_binding_error():
    with pytest.raises(BindingError, match="missing value for y"):
        evaluate_batch(gradcli.parse("x * y"), {"x": np.array([1.0, 2.0])})
    with pytest.raises(BindingError, match="missing values for x, y"):
        evaluate_batch(gradcli.parse("x * y"), {})


def test_columns_of_different_lengths_are_a_binding_error():
    with pytest.raises(BindingError, match="different lengths"):
        evaluate_batch(gradcli.parse("x * y"), {"x": np.array([1.0, 2.0]), "y": np.array([1.0, 2.0, 3.0])})


@pytest.mark.parametrize("number", [3.0, 3, np.float64(3.0), np.array(3.0)])
def test_a_number_holds_for_every_row(number):
    x = np.array([0.0, 1.0, -2.0, 0.5])
    result, _ = check_batch("x * y + y^2", {"x": x, "y": number})
    np.testing.assert_array_equal(result.values, x * 3.0 + 9.0)
    np.testing.assert_array_equal(result.gradient["x"], [3.0] * 4)
    np.testing.assert_array_equal(result.gradient["y"], x + 6.0)  # per row, not a single number
    assert result.gradient["y"].shape == (4,)


def test_only_numbers_give_one_row():
    result, _ = check_batch("x * y", {"x": 2.0, "y": 5.0})
    np.testing.assert_array_equal(result.values, [10.0])
    assert result.gradient["x"].tolist() == [5.0] and result.gradient["y"].tolist() == [2.0]
    result, _ = check_batch("t = 2; t * 3 + sin(pi)", {})  # no inputs at all
    assert result.values.shape == (1,) and result.gradient == {}


def test_lists_are_columns():
    result, _ = check_batch("x / y", {"x": [1, 2, 3], "y": [2, 0, 4]})
    assert set(result.errors) == {1}


def test_zero_rows():
    for program in ["x * y", "sin(x) + log(y)", "t = log(x); y"]:
        result = evaluate_batch(gradcli.parse(program), {"x": np.array([]), "y": np.empty(0)})
        assert len(result) == 0 and result.values.shape == (0,)
        assert {n: g.shape for n, g in result.gradient.items()} == {"x": (0,), "y": (0,)}
        assert result.errors == {}
    result = evaluate_batch(gradcli.parse("x + y"), {"x": np.array([]), "y": 2.0})
    assert result.values.shape == (0,) and result.gradient["y"].shape == (0,)


# -- 5. staged programs, kinks, unused statements -------------------------------------------------------

SAMPLE_FILES = sorted(p.name for p in SAMPLES.glob("*.grad"))


def test_there_are_samples():
    assert len(SAMPLE_FILES) >= 5


@pytest.mark.parametrize("sample", SAMPLE_FILES)
def test_sample_programs_at_many_points(sample):
    graph = gradcli.parse((SAMPLES / sample).read_text())
    rng = np.random.default_rng(len(sample))
    columns = {name: rng.uniform(-3.0, 3.0, 200) for name in graph.inputs}
    for name, column in columns.items():  # small integers too: the documented points are made of them
        column[:40] = rng.integers(-4, 5, 40)
    _, kinds = check_batch(graph, columns)
    assert kinds["finite"] > 150


def test_cs231n_staged_seed_numbers():
    from seed_data import CS231N_STAGED_NODES

    graph = gradcli.parse((SAMPLES / "cs231n_staged.grad").read_text())
    result, _ = check_batch(graph, {"x": np.array([3.0, 1.0, 3.0]), "y": np.array([-4.0, 2.0, -4.0])})
    for row in (0, 2):
        assert result.values[row] == pytest.approx(CS231N_STAGED_NODES["f"][0], rel=1e-15)
        assert result.gradient["x"][row] == pytest.approx(2.0595697955721652, rel=1e-15)
        assert result.gradient["y"][row] == pytest.approx(1.5922327514838093, rel=1e-15)


@pytest.mark.parametrize(
    ("program", "columns", "expected"),
    [
        ("abs(x)", {"x": [0.0, -0.0, 2.0, -2.0]}, {"x": [0.0, 0.0, 1.0, -1.0]}),
        ("relu(x)", {"x": [0.0, -0.0, 2.0, -2.0]}, {"x": [0.0, 0.0, 1.0, 0.0]}),
        ("max(x, y, z)", {"x": [1.0, 1.0, 0.0], "y": [1.0, 1.0, -0.0], "z": [1.0, 0.0, 0.0]},
         {"x": [1 / 3, 0.5, 1 / 3], "y": [1 / 3, 0.5, 1 / 3], "z": [1 / 3, 0.0, 1 / 3]}),
        ("min(x, y)", {"x": [2.0, 2.0, 1.0], "y": [2.0, 3.0, 0.0]}, {"x": [0.5, 1.0, 0.0], "y": [0.5, 0.0, 1.0]}),
        ("max(x, x)", {"x": [1.0, -1.0]}, {"x": [1.0, 1.0]}),
        ("max(x, 0) + min(0, x)", {"x": [0.0, 1.0]}, {"x": [1.0, 1.0]}),
        ("f = 2 * (x*y + max(z, w))", {"x": [3.0], "y": [-4.0], "z": [2.0], "w": [2.0]},
         {"x": [-8.0], "y": [6.0], "z": [1.0], "w": [1.0]}),
        ("t = abs(x - y); s = relu(t - 1); s + t", {"x": [1.0, 2.0, 0.0], "y": [1.0, 1.0, 3.0]},
         {"x": [0.0, 1.0, -2.0], "y": [0.0, -1.0, 2.0]}),
    ],
)
def test_kinks_give_the_scalar_engines_subgradient(program, columns, expected):
    columns = {name: np.array(column) for name, column in columns.items()}
    result, kinds = check_batch(program, columns)
    assert kinds["error"] == 0
    for name, numbers in expected.items():
        np.testing.assert_allclose(result.gradient[name], numbers, rtol=1e-15, err_msg=f"{program} d/d{name}")


@pytest.mark.parametrize(
    ("program", "columns", "bad_rows"),
    [
        ("t = log(x); y", {"x": [1.0, -1.0, 0.0, 2.0], "y": [1.0, 2.0, 3.0, 4.0]}, {1, 2}),
        ("t = 1 / (x - 1); 2 * y", {"x": [1.0, 2.0], "y": [3.0, 4.0]}, {0}),
        ("t = exp(x); u = t * 2; y^2", {"x": [1000.0, 1.0], "y": [3.0, 4.0]}, {0}),
        ("t = sqrt(x); x", {"x": [-1.0, 0.0, 4.0]}, {0}),  # sqrt's infinite slope at 0 is unused: no error
        ("x = log(x); x = 2; x * y", {"x": [-1.0, 1.0], "y": [3.0, 4.0]}, {0}),
    ],
)
def test_unused_statements_that_fail_fail_the_row(program, columns, bad_rows):
    columns = {name: np.array(column) for name, column in columns.items()}
    result, _ = check_batch(program, columns)
    assert set(result.errors) == bad_rows


# -- regressions: bugs these tests found -----------------------------------------------------------------


@pytest.mark.parametrize("program", ["log(x, 0)", "log(x, -0)", "log(x, 1 - 1)"])
def test_log_with_base_zero_is_a_domain_error(program):
    result, kinds = check_batch(program, {"x": np.array([2.0, 0.5, 1.0])})
    assert kinds["error"] == 3


def test_log_with_base_zero_in_an_unused_statement_is_a_domain_error():
    check_batch("t = log(x, b); x", {"x": np.array([2.0, 3.0]), "b": np.array([0.0, 2.0])})


@pytest.mark.parametrize("program", ["x / 0", "x / -0", "x / (1 - 1)"])
def test_division_by_a_constant_zero_is_a_domain_error_per_row(program):
    result, kinds = check_batch(program, {"x": np.array([1.0, 0.0, -2.0])})
    assert kinds["error"] == 3 and all(type(e) is DomainError for e in result.errors.values())


def test_log_with_base_near_one_at_the_smallest_x_does_not_crash():
    x, b = 5e-324, 1.5
    result = evaluate_batch(gradcli.parse("log(x, b)"), {"x": np.array([x, 2.0]), "b": b})
    assert 0 not in result.errors
    assert result.values[0] == pytest.approx(math.log(x) / math.log(b), rel=1e-15)
    assert result.gradient["x"][0] == math.inf  # 1 / (x log b) is beyond the largest double
    assert result.gradient["b"][0] == pytest.approx(-result.values[0] / (b * math.log(b)), rel=1e-15)


# -- 6. what the fast paths must keep -----------------------------------------------------------------
#
# The engine returns its own arrays as results where it can, finds bad rows by
# NumPy's floating-point flags, hands sigmoid's exp(-x) from the forward to the
# partial rule through a cache, and skips calling rules whose partials are
# plain numbers. None of that may show in the results.

ALIASING_PROGRAMS = ["x", "t = x; t", "x * y", "exp(x)", "(x + y) * sin(y)", "x^1 + 0 * y", "sigmoid(x) * y",
                     "y - x", "-x + y", "x * 2"]


@pytest.mark.parametrize("compile_limit", [-1, batch.COMPILE_LIMIT], ids=["interpreted", "compiled"])
@pytest.mark.parametrize("chunk_rows", [3, batch.CHUNK_ROWS])
@pytest.mark.parametrize("program", ALIASING_PROGRAMS)
def test_results_are_arrays_of_their_own(monkeypatch, program, chunk_rows, compile_limit):
    """No result is an input column, a view of one, or another result; changing one changes nothing else."""
    monkeypatch.setattr(batch, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(batch, "COMPILE_LIMIT", compile_limit)
    columns = {"x": np.linspace(-2.0, 2.0, 8), "y": np.linspace(0.5, 3.0, 8)}
    copies = {name: column.copy() for name, column in columns.items()}
    graph = gradcli.parse(program)
    result = evaluate_batch(graph, {name: columns[name] for name in graph.inputs})
    outputs = [result.values, *result.gradient.values()]
    for i, a in enumerate(outputs):
        assert a.flags.writeable and a.dtype == np.float64 and a.shape == (8,)
        for column in columns.values():
            assert not np.shares_memory(a, column), f"{program}: result {i} shares memory with an input"
        for b in outputs[i + 1 :]:
            assert not np.shares_memory(a, b), f"{program}: two results share memory"
    expected = [a.copy() for a in outputs]
    for a in outputs:
        a[:] = 123.0
    for name in columns:
        np.testing.assert_array_equal(columns[name], copies[name], err_msg=f"{program}: input {name} changed")
    again = evaluate_batch(graph, {name: columns[name] for name in graph.inputs})
    for got, want in zip([again.values, *again.gradient.values()], expected):
        np.testing.assert_array_equal(got, want, err_msg=f"{program}: a second call differs")


@pytest.mark.parametrize(
    ("program", "columns"),
    [
        # inf or NaN that never reaches the output: only the flags can tell
        ("t = exp(x); y", {"x": np.array([1.0, 1000.0, 2.0]), "y": np.array([1.0, 2.0, 3.0])}),
        ("atan(exp(x))", {"x": np.array([1.0, 710.0, -2.0])}),
        ("sigmoid(exp(x)) + y", {"x": np.array([1.0, 710.0, -2.0]), "y": np.array([1.0, 2.0, 3.0])}),
        ("t = log(x - 1); x", {"x": np.array([3.0, 1.0, 0.5, 2.0])}),
        # a flag from a branch of `where` not taken: the rows are searched and all are fine
        ("x^0 + pow(x, y)", {"x": np.array([0.0, 1.0, 2.0]), "y": np.array([0.0, 2.0, 3.0])}),
        # huge finite inputs overflow the engine's own check of the inputs: searched, all fine
        ("x + y", {"x": np.array([1e200, -1e200, 1.0]), "y": np.array([1e200, 1e200, 2.0])}),
        ("x * 1e-300", {"x": np.array([1e300, 1e308, -1e308])}),
    ],
)
def test_non_finite_numbers_are_found_wherever_they_are(program, columns):
    check_batch(program, columns)
    with interpreted():
        check_batch(program, columns)


def test_inputs_that_are_not_finite_are_found_in_every_chunk(monkeypatch):
    monkeypatch.setattr(batch, "CHUNK_ROWS", 4)
    x = np.linspace(-1.0, 1.0, 11)
    x[[2, 7, 10]] = [math.nan, math.inf, -math.inf]
    # sigmoid(inf) is 1 and its slope 0: no operation raises a flag, so only the input check can tell.
    result, kinds = check_batch("sigmoid(x) + sigmoid(y)", {"x": x, "y": x[::-1].copy()})
    assert sorted(result.errors) == [0, 2, 3, 7, 8, 10]
    assert all(isinstance(e, BindingError) for e in result.errors.values())


SIGMOID_POINTS = np.array(WIDE + [-1000.0, 1000.0, 36.0, 37.0, 38.0, -36.0, -37.0, 1e-10, -1e-10])


def test_sigmoid_complement_scalar_is_the_rule_as_it_was():
    """The scalar sigmoid partial is unchanged: out * (1 - out) up to 1/2, out * sigmoid(-x) above, bit for bit."""
    from gradcli.ops import SCALAR, _sigmoid

    for x in SIGMOID_POINTS.tolist():
        out = _sigmoid(x)
        before = out * (1.0 - out) if out <= 0.5 else out * _sigmoid(-x)
        (partial,) = OPS["sigmoid"].partials([x], out)
        assert partial == before, x
        assert SCALAR.sigmoid_complement(x, out) == (1.0 - out if out <= 0.5 else _sigmoid(-x)), x


def test_sigmoid_complement_with_and_without_the_forwards_residual():
    """From the cache (the forward's exp(-x)) or computed afresh, 1 - sigmoid(x) is the scalar one to rounding."""
    from gradcli.ops import SCALAR, array_math

    m = array_math(np)
    assert m is array_math(np) is batch.ARRAY_MATH  # one namespace: forward and rules share the cache
    x = SIGMOID_POINTS
    with np.errstate(all="ignore"):
        out = m.sigmoid(x)
        assert id(out) in m.residuals
        from_residual = m.sigmoid_complement(x, out)
        afresh = m.sigmoid_complement(x, out.copy())  # not the forward's array: a cache miss
    for i, xi in enumerate(x.tolist()):
        expected = SCALAR.sigmoid_complement(xi, SCALAR.sigmoid(xi))
        for got in (from_residual[i], afresh[i]):
            assert abs(got - expected) <= 4e-16 * expected + TINY, (xi, got, expected)
    key = id(out)
    del out
    assert key not in m.residuals  # an entry lives no longer than its output array


def test_the_residual_cache_is_empty_after_a_call():
    graph = gradcli.parse("sigmoid(x) * sigmoid(2 * x) + softplus(x)")
    evaluate_batch(graph, {"x": np.linspace(-3.0, 3.0, 20)})
    assert not batch.ARRAY_MATH.residuals


@contextlib.contextmanager
def interpreted():
    """Plans made in this block are interpreted step by step, as big programs' are, not compiled."""
    saved = batch.COMPILE_LIMIT
    batch.COMPILE_LIMIT = -1
    try:
        yield
    finally:
        batch.COMPILE_LIMIT = saved


PLAN_CASES = [(program, columns) for program, columns, _ in OP_CASES.values()] + [
    (program, columns) for program, columns, _ in CONSTANT_ARGUMENT_CASES
] + [(CHUNK_PROGRAM, chunk_columns()), ("x + x - x * x + -x - (-x) + y - y", grid(x=SMALL, y=[1.0, -2.0]))]


@pytest.mark.parametrize(("program", "columns"), PLAN_CASES, ids=[case[0] for case in PLAN_CASES])
def test_compiled_and_interpreted_plans_agree_bit_for_bit(program, columns):
    """The compiled function takes the interpreter's steps: the same numbers, bit for bit, and the same errors."""
    compiled_graph = gradcli.parse(program)
    compiled = evaluate_batch(compiled_graph, columns)
    assert batch._plans[compiled_graph][compiled_graph.output].run is not None
    with interpreted():
        interpreted_graph = gradcli.parse(program)
        stepwise = evaluate_batch(interpreted_graph, columns)
    assert batch._plans[interpreted_graph][interpreted_graph.output].run is None
    assert_same_results(compiled, stepwise, program)


def test_plain_number_partials_are_found_once_per_graph():
    graph = gradcli.parse("t = x; (t + y) - (-x) * y")
    evaluate_batch(graph, {"x": np.ones(3), "y": np.ones(3)})
    fixed = {graph.nodes[step.node].op.name: step.fixed for step in batch._plans[graph][graph.output].backward}
    assert fixed["add"] == (1.0, 1.0)
    assert fixed["sub"] == (1.0, -1.0)
    assert fixed["neg"] == (-1.0,)
    assert fixed["id"] == (1.0,)
    assert fixed["mul"] is None


@pytest.mark.parametrize("program", ["sigmoid(x)", "relu(softplus(x))", "sigmoid(x) * sigmoid(-x)"])
def test_a_nan_row_does_not_hide_the_far_left_rows_of_sigmoid(program):
    """Found by the random programs: x.min() is NaN when a row is NaN, which hid the rows below -709."""
    check_batch(program, {"x": np.array([math.nan, -720.0, -745.0, 1.0, 720.0])})


# -- 7. numpy stays out of single-point use -------------------------------------------------------------


def test_single_point_use_does_not_import_numpy():
    code = (
        "import sys, gradcli, gradcli.cli\n"
        "gradcli.evaluate('x*y', {'x': 1, 'y': 2})\n"
        "try:\n"
        "    gradcli.cli.main(['eval', 'x*y', 'x=1', 'y=2', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('numpy' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"value":2' in done.stdout.replace(" ", ""), done.stdout
    assert done.stderr.strip() == "False", f"numpy was imported: {done.stderr}"
