"""Several outputs and Jacobians (issue 7): `out`, forward / reverse / auto, J v and u^T J.

- The `out` statement: outputs, labels, the first output as graph.output, the
  errors (a statement after `out`, an output listed twice) with their spans,
  and `out` still usable as a variable name.
- Jacobians against closed forms written out here, and on random programs
  with several outputs (hypothesis, the strategies of tests/test_properties.py)
  against 50-digit mpmath central differences of an mpmath evaluation of each
  output's text; forward mode equals reverse mode to rounding.
- `auto` picks forward mode iff outputs > max(inputs, 1), and so takes
  min(inputs, outputs) sweeps (one sweep, reverse, for a program without inputs
  and one output).
- J v (direction) and u^T J (cotangent) equal the products with the Jacobian,
  which they do not form; unknown names raise BindingError.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mpmath import mp

import gradcli
from gradcli.errors import BindingError, GradcliError, ProgramSyntaxError
from gradcli.evaluation import ALONG_DIRECTION, choose_mode, evaluate

# Random programs and their mpmath reference come from the first-order property tests.
from test_properties import (
    INPUTS,
    POINTS,
    MpProgram,
    _absolute_tangents,
    _assume_smooth_here,
    expressions,
    staged_programs,
)

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: reproducible in CI
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# -- the `out` statement -------------------------------------------------------------------------


def test_out_names_the_outputs_in_order():
    source = "u = x*y; v = x + sin(y); out u, v"
    graph = gradcli.parse(source)
    assert list(graph.inputs) == ["x", "y"]
    assert graph.output_labels == ["u", "v"]
    assert [graph.nodes[i].name for i in graph.outputs] == ["u", "v"]
    assert graph.output == graph.outputs[0]


def test_without_out_the_last_statement_is_the_one_output():
    graph = gradcli.parse("u = x*y; v = x + sin(y)")
    assert graph.outputs == [graph.output] and graph.nodes[graph.output].name == "v"


def test_out_labels_are_the_text_written():
    graph = gradcli.parse("out (-x), y, x*y + 1")
    assert graph.output_labels == ["(-x)", "y", "x*y + 1"]
    evaluation = evaluate(graph, {"x": 2.0, "y": 3.0})
    assert evaluation.output_values == [-2.0, 3.0, 7.0]
    assert evaluation.jacobian == [[-1.0, 0.0], [0.0, 1.0], [3.0, 2.0]]


@pytest.mark.parametrize(
    "source",
    ["out x, y\n", "out x, y  # the outputs\n\n", "a = x\nout a, y;", "out x,y", "  out\tx ,  y"],
)
def test_out_may_be_followed_by_blank_lines_and_comments(source):
    assert len(gradcli.parse(source).outputs) == 2


@pytest.mark.parametrize(
    "source,point,inputs,value",
    [
        ("out = x + 1\nout * 2", {"x": 1.0}, ["x"], 4.0),  # `out` assigned, then used
        ("y = out * 2; y", {"out": 3.0}, ["out"], 6.0),  # `out` an input
        ("out", {"out": 5.0}, ["out"], 5.0),
        ("out+x", {"out": 1.0, "x": 2.0}, ["out", "x"], 3.0),
        ("out += 1; out", {"out": 1.0}, ["out"], 2.0),
        ("output = 2 * x; output", {"x": 1.5}, ["x"], 3.0),  # a longer name that starts with out
    ],
)
def test_out_is_still_a_variable_name(source, point, inputs, value):
    evaluation = evaluate(source, point)
    assert list(evaluation.graph.inputs) == inputs
    assert len(evaluation.outputs) == 1
    assert evaluation.value == value


@pytest.mark.parametrize(
    "source,offending",
    [
        ("out x, y; z = 1", "z"),
        ("out x\nx + 1", "x + 1"),
        ("out x; out y", "out y"),
        ("out x, y\nx += 1", "x"),
    ],
)
def test_a_statement_after_out_is_an_error_with_its_span(source, offending):
    with pytest.raises(ProgramSyntaxError) as caught:
        gradcli.parse(source)
    error = caught.value
    assert "after `out`" in error.message
    start, end = error.span
    assert source[start:end] == offending
    assert start >= source.index("out") + 3  # the span is the later statement, not the `out`


@pytest.mark.parametrize(
    "source,second",
    [("out x, x", 7), ("out x*y, y, x*y", 12), ("a = x; out a, x, a", 17)],
)
def test_an_output_listed_twice_is_an_error_at_its_second_mention(source, second):
    with pytest.raises(ProgramSyntaxError) as caught:
        gradcli.parse(source)
    assert "listed twice" in caught.value.message
    assert caught.value.span[0] == second
    start, end = caught.value.span
    assert source[start:end] == source[second:end] and source[start:end].strip() in ("x", "x*y", "a")


def test_one_node_under_two_labels_gives_two_equal_rows():
    evaluation = evaluate("u = x*y; out u, (u)", {"x": 2.0, "y": 3.0})
    assert evaluation.output_labels == ["u", "(u)"]
    assert evaluation.jacobian == [[3.0, 2.0], [3.0, 2.0]]
    # Their cotangent weights add up on the one node.
    both = evaluate("u = x*y; out u, (u)", {"x": 2.0, "y": 3.0}, cotangent={"u": 1.0, "(u)": 2.0})
    assert both.vjp == {"x": 9.0, "y": 6.0}


# -- closed forms ----------------------------------------------------------------------------------


def _jacobians(source: str, point: dict[str, float]) -> dict[str, list[list[float]]]:
    return {mode: evaluate(source, point, mode=mode).jacobian for mode in ("auto", "forward", "reverse")}


def test_the_issue_example():
    # u = x y, v = x + sin y: J = [[y, x], [1, cos y]] at (1, 2).
    for mode, jacobian in _jacobians("u = x*y; v = x + sin(y); out u, v", {"x": 1.0, "y": 2.0}).items():
        assert jacobian == [[2.0, 1.0], [1.0, pytest.approx(math.cos(2.0), rel=1e-15)]], mode


def test_polar_to_cartesian():
    r, t = 2.0, 0.7
    want = [[math.cos(t), -r * math.sin(t)], [math.sin(t), r * math.cos(t)]]
    for mode, jacobian in _jacobians("out r*cos(t), r*sin(t)", {"r": r, "t": t}).items():
        assert jacobian == [[pytest.approx(v, rel=1e-15) for v in row] for row in want], mode
        # det J = r
        assert jacobian[0][0] * jacobian[1][1] - jacobian[0][1] * jacobian[1][0] == pytest.approx(r, rel=1e-15)


def test_spherical_coordinates():
    r, p, a = 1.5, 0.4, -1.1  # radius, polar angle, azimuth
    source = "s = r*sin(p)\nout s*cos(a), s*sin(a), r*cos(p)"
    want = [
        [math.sin(p) * math.cos(a), r * math.cos(p) * math.cos(a), -r * math.sin(p) * math.sin(a)],
        [math.sin(p) * math.sin(a), r * math.cos(p) * math.sin(a), r * math.sin(p) * math.cos(a)],
        [math.cos(p), -r * math.sin(p), 0.0],
    ]
    for mode, jacobian in _jacobians(source, {"r": r, "p": p, "a": a}).items():
        assert jacobian == [[pytest.approx(v, rel=1e-14, abs=1e-15) for v in row] for row in want], mode


def test_tall_program_of_one_input():
    x = 0.3
    source = "out x, x^2, x^3, sin(x), exp(2*x), 1/x"
    want = [[1.0], [2 * x], [3 * x * x], [math.cos(x)], [2 * math.exp(2 * x)], [-1 / x**2]]
    for mode, jacobian in _jacobians(source, {"x": x}).items():
        assert jacobian == [[pytest.approx(v, rel=1e-15)] for (v,) in want], mode
    assert evaluate(source, {"x": x}).mode == "forward"


def test_outputs_that_are_inputs_or_constants():
    evaluation = evaluate("out y, x, 3", {"x": 1.0, "y": 2.0})
    assert list(evaluation.graph.inputs) == ["y", "x"]  # columns in order of first appearance
    assert evaluation.jacobian == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    assert evaluate("out y, x, 3", {"x": 1.0, "y": 2.0}, mode="reverse").jacobian == evaluation.jacobian


def test_gradient_is_the_first_row():
    for mode in ("forward", "reverse"):
        evaluation = evaluate("out x*y, x - y", {"x": 2.0, "y": 5.0}, mode=mode)
        assert evaluation.gradient == {"x": 5.0, "y": 2.0}
        assert evaluation.value == 10.0


# -- which mode, and how many sweeps -------------------------------------------------------------------


def _program(inputs: int, outputs: int) -> str:
    """`inputs` inputs x0.., every output depending on all of them, `outputs` outputs."""
    total = " + ".join(f"x{i}" for i in range(inputs)) or "1"
    return f"s = {total}\nout " + ", ".join(f"s*{k + 1}" for k in range(outputs))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 7), st.integers(1, 7))
def test_auto_takes_the_mode_with_fewer_sweeps(inputs, outputs):
    point = {f"x{i}": 0.5 + i for i in range(inputs)}
    source = _program(inputs, outputs)
    auto = evaluate(source, point)
    forward = evaluate(source, point, mode="forward")
    reverse = evaluate(source, point, mode="reverse")
    assert (auto.requested_mode, forward.requested_mode, reverse.requested_mode) == ("auto", "forward", "reverse")
    assert (forward.mode, reverse.mode) == ("forward", "reverse")
    # One sweep per input forward, one per output backward.
    assert forward.sweeps == inputs and reverse.sweeps == outputs
    expected = "forward" if outputs > max(inputs, 1) else "reverse"
    assert auto.mode == expected == choose_mode(inputs, outputs)
    assert auto.sweeps == (inputs if expected == "forward" else outputs)
    if inputs:
        assert auto.sweeps == min(inputs, outputs)  # ties go to reverse: same count
    else:
        assert auto.sweeps == (1 if outputs == 1 else 0)  # one reverse sweep still gives the adjoints
    assert auto.jacobian == (forward if expected == "forward" else reverse).jacobian
    # Every row is k * (1, ..., 1): both modes exactly.
    want = [[float(k + 1)] * inputs for k in range(outputs)]
    assert forward.jacobian == reverse.jacobian == want


@pytest.mark.parametrize(
    "inputs,outputs,mode",
    [(1, 1, "reverse"), (0, 1, "reverse"), (0, 2, "forward"), (3, 3, "reverse"), (3, 4, "forward"),
     (1000, 1, "reverse"), (3, 1000, "forward"), (1, 2, "forward")],
)
def test_choose_mode(inputs, outputs, mode):
    assert choose_mode(inputs, outputs) == mode


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        evaluate("x", {"x": 1.0}, mode="sideways")


# -- random programs with several outputs: against mpmath, and forward equals reverse ------------------------


@st.composite
def several_outputs(draw):
    """A staged program ended by `out` with 2 or 3 distinct expressions over its names (parenthesised)."""
    body = draw(staged_programs())
    names = tuple(n for n in ("t1", "t2", "t3") if f"{n} =" in body) + INPUTS
    outs = draw(st.lists(expressions(names=names, depth=2), min_size=2, max_size=3, unique=True))
    return body, [f"({o})" for o in outs]


def _evaluation_or_skip(source: str, point: dict[str, float], **kwargs):
    try:
        evaluation = gradcli.evaluate(source, point, **kwargs)
    except GradcliError:
        assume(False)
    _assume_smooth_here(evaluation)
    assume(all(math.isfinite(v) and abs(v) < 1e100 for v in evaluation.values))
    return evaluation


@SETTINGS
@given(several_outputs(), POINTS)
def test_random_jacobians_match_mpmath_in_both_modes(case, point):
    body, outs = case
    source = body + "\nout " + ", ".join(outs)
    reverse = _evaluation_or_skip(source, point, mode="reverse")
    forward = _evaluation_or_skip(source, point, mode="forward")
    auto = _evaluation_or_skip(source, point)
    graph = reverse.graph
    names = list(graph.inputs)
    assert reverse.output_labels == outs and len(reverse.jacobian) == len(forward.jacobian) == len(outs)
    assert auto.jacobian == (forward if auto.mode == "forward" else reverse).jacobian
    assert forward.output_values == reverse.output_values
    for j, name in enumerate(names):
        absolute = _absolute_tangents(reverse, name)  # bounds the rounding a sum can carry
        for k, out in enumerate(outs):
            scale = absolute[graph.outputs[k]]
            got_r, got_f = reverse.jacobian[k][j], forward.jacobian[k][j]
            assert math.isfinite(got_r) and math.isfinite(got_f)
            assert abs(got_r - got_f) <= 1e-12 * max(abs(got_f), scale) + 1e-300, (
                f"d{out}/d{name} of {source!r} at {point}: reverse {got_r!r}, forward {got_f!r}"
            )
            d_out, _ = MpProgram(body + "\n" + out).derivatives(point, name)
            for mode, got in (("reverse", got_r), ("forward", got_f)):
                assert abs(got - d_out) <= 1e-9 * max(abs(d_out), scale) + 1e-12, (
                    f"d{out}/d{name} of {source!r} at {point} ({mode}): gradcli {got!r}, mpmath {mp.nstr(d_out, 20)}"
                )


# -- J v and u^T J ---------------------------------------------------------------------------------


WEIGHTS = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@SETTINGS
@given(several_outputs(), POINTS, st.lists(WEIGHTS, min_size=3, max_size=3), st.lists(WEIGHTS, min_size=3, max_size=3))
def test_products_equal_the_jacobian_times_the_vector(case, point, v, u):
    body, outs = case
    source = body + "\nout " + ", ".join(outs)
    full = _evaluation_or_skip(source, point)
    names = list(full.graph.inputs)
    direction = dict(zip(names, v))
    cotangent = dict(zip(outs, u))
    jvp = _evaluation_or_skip(source, point, direction=direction)
    vjp = _evaluation_or_skip(source, point, cotangent=cotangent)
    both = _evaluation_or_skip(source, point, direction=direction, cotangent=cotangent)
    for products in (jvp, vjp, both):
        assert products.jacobian is None  # J is not formed
    assert (jvp.sweeps, vjp.sweeps, both.sweeps) == (1, 1, 2)
    assert jvp.direction == direction and vjp.cotangent == cotangent
    assert jvp.vjp is None and vjp.jvp is None
    J = full.jacobian
    scale = 1.0 + max(abs(x) for row in J for x in row)
    for k in range(len(outs)):
        want = math.fsum(J[k][j] * v[j] for j in range(len(names)))
        assert jvp.jvp[k] == pytest.approx(want, rel=1e-12, abs=1e-12 * scale)
        assert both.jvp[k] == jvp.jvp[k]
        # The tangent along v, per node, ends in J v at each output.
        assert jvp.tangents[ALONG_DIRECTION][full.graph.outputs[k]] == jvp.jvp[k]
    assert list(vjp.vjp) == names
    for j, name in enumerate(names):
        want = math.fsum(u[k] * J[k][j] for k in range(len(outs)))
        assert vjp.vjp[name] == pytest.approx(want, rel=1e-12, abs=1e-12 * scale)
        assert both.vjp[name] == vjp.vjp[name]


def test_products_closed_form_and_left_out_names_weigh_zero():
    r, t = 2.0, 0.7
    source = "out r*cos(t), r*sin(t)"
    jvp = evaluate(source, {"r": r, "t": t}, direction={"r": 1.0, "t": 0.5})
    assert jvp.jvp == [pytest.approx(math.cos(t) - 0.5 * r * math.sin(t), rel=1e-15),
                       pytest.approx(math.sin(t) + 0.5 * r * math.cos(t), rel=1e-15)]
    # t left out: the column of r.
    assert evaluate(source, {"r": r, "t": t}, direction={"r": 1.0}).jvp == [
        pytest.approx(math.cos(t), rel=1e-15), pytest.approx(math.sin(t), rel=1e-15)]
    # An output may be named with other spacing than in `out`.
    vjp = evaluate(source, {"r": r, "t": t}, cotangent={"r * sin(t)": 1.0})
    assert vjp.cotangent == {"r*cos(t)": 0.0, "r*sin(t)": 1.0}
    assert vjp.vjp == {"r": pytest.approx(math.sin(t), rel=1e-15), "t": pytest.approx(r * math.cos(t), rel=1e-15)}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"direction": {"w": 1.0}},
        {"direction": {"x": 1.0, "X": 2.0}},
        {"cotangent": {"w": 1.0}},
        {"cotangent": {"x": 1.0}},  # an input, not an output
        {"cotangent": {"u": 1.0, "v ": 1.0, "x*y": 1.0}},
        {"direction": {"x": math.nan}},
        {"cotangent": {"u": math.inf}},
        {"wrt": "w"},
    ],
)
def test_unknown_or_bad_names_and_weights_are_binding_errors(kwargs):
    with pytest.raises(BindingError) as caught:
        evaluate("u = x*y; v = x + sin(y); out u, v", {"x": 1.0, "y": 2.0}, **kwargs)
    assert caught.value.message


def test_unknown_direction_name_suggests_the_inputs():
    with pytest.raises(BindingError) as caught:
        evaluate("out x*y, x", {"x": 1.0, "y": 2.0}, direction={"yy": 1.0})
    assert "yy" in caught.value.message and "y" in caught.value.hint


# -- warnings about every output -------------------------------------------------------------------


def test_a_kink_on_the_first_output_is_reported():
    kinds = [w.kind for w in evaluate("out abs(y), x", {"x": 1.0, "y": 0.0}).warnings]
    assert "kink" in kinds


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("source", ["out x, abs(y)", "out x, sqrt(y)"])
def test_a_kink_on_a_later_output_is_reported(source, mode):
    evaluation = evaluate(source, {"x": 1.0, "y": 0.0}, mode=mode)
    assert "kink" in [w.kind for w in evaluation.warnings], evaluation.jacobian


def test_a_non_finite_entry_of_a_later_output_is_reported():
    # d sqrt(y)/dy at 0 is +inf: a Jacobian entry of the second output.
    warnings = evaluate("out x, sqrt(y)", {"x": 1.0, "y": 0.0}).warnings
    messages = [w.message for w in warnings if w.kind == "non-finite-gradient"]
    assert messages == ["the derivative of sqrt(y) with respect to y is inf"]
