"""gradcli check: the gradient checker (issue 3), through the API and the CLI.

Expected values come from closed forms (mpmath at 50 digits), from the seed
examples (../shared/seed-examples.md) or from the specification, never from
gradcli itself. Layers:

- the headline example with every method, the JSON schema and exit codes;
- planted bugs that must fail (perturbed claims, sign flips, swapped
  partials, a dropped chain-rule term, a wrong op rule found by --nodes);
- no false alarms over random smooth programs (hypothesis);
- kinks of relu, abs, max, min; non-finite and zero partials; cancellation;
- claims from --claim, files and stdin; --samples/--seed/--range; overrides.
"""

from __future__ import annotations

import io
import json
import math
import re
import sys
from pathlib import Path

import pytest

from gradcli.numeric import default_step
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from mpmath import mp, mpf

import gradcli
import gradcli.ops
import gradcli.parser
from gradcli.check import CheckSettings, check, claim_tolerance, relative_error
from gradcli.cli import main
from gradcli.errors import GradcliError
from gradcli.localise import check_nodes
from gradcli.sampling import check_samples, parse_ranges

EPS = sys.float_info.epsilon
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
HEADLINE = "(x + sigmoid(y)) / (sigmoid(x) + (x+y)^2)"
POINT = {"x": 3.0, "y": -4.0}
# ../shared/seed-examples.md, section 4 (float64, an independent autodiff system)
SEED_VALUE = 1.5456448841066441
SEED_DX = 2.0595697955721652
SEED_DY = 1.5922327514838093
METHODS = ("central", "forward", "richardson", "complex")
TRUSTED = ("central", "richardson", "complex")  # the methods with a false-failure rate of 0
PARTIAL_KEYS = {"input", "at", "reverse", "claimed", "numeric", "abs_error", "rel_error", "step",
                "error_estimate", "verdict", "method", "notes", "kink"}


# -- closed forms ----------------------------------------------------------------------------------


def _headline_gradient(drop_sigmoid_term: bool = False) -> tuple[float, float]:
    """d/dx and d/dy of (x + s(y)) / (s(x) + (x+y)^2) at (3, -4), at 50 digits."""
    with mp.workdps(50):
        x, y = mpf(3), mpf(-4)
        s = lambda t: 1 / (1 + mp.exp(-t))  # noqa: E731
        ds = lambda t: s(t) * (1 - s(t))  # noqa: E731
        num, den = x + s(y), s(x) + (x + y) ** 2
        dden_dx = (0 if drop_sigmoid_term else ds(x)) + 2 * (x + y)
        dx = (den - num * dden_dx) / den**2
        dy = (ds(y) * den - num * 2 * (x + y)) / den**2
        return float(dx), float(dy)


GX, GY = _headline_gradient()


def test_closed_form_matches_the_seed_example():
    # The reference itself, so that the tests below rest on two independent sources.
    assert GX == pytest.approx(SEED_DX, rel=1e-15)
    assert GY == pytest.approx(SEED_DY, rel=1e-15)


# -- helpers ---------------------------------------------------------------------------------------


def _no_constants(name):
    raise ValueError(f"non-strict JSON constant {name}")


def strict_json(text: str):
    return json.loads(text, parse_constant=_no_constants)


@pytest.fixture
def run(capsys, monkeypatch):
    """gradcli's console entry point: (exit code, stdout, stderr); `stdin` feeds standard input."""

    def invoke(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def run_json(run, *argv: str, stdin: str | None = None) -> tuple[int, dict]:
    code, out, _ = run(*argv, "--json", stdin=stdin)
    return code, strict_json(out)


def by_input(result) -> dict:
    return {p.input: p for p in result.partials}


def json_by_input(data: dict) -> dict:
    return {p["input"]: p for p in data["partials"]}


def node_of(graph, op_name: str) -> int:
    ids = [n.id for n in graph.nodes if n.op.name == op_name]
    assert len(ids) == 1, (op_name, ids)
    return ids[0]


def representable_step(x: float, h: float) -> float:
    return (x + h) - x


# -- the headline ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_headline_passes_with_every_method_api(method):
    result = check(HEADLINE, POINT, settings=CheckSettings(method=method))
    assert result.ok
    assert result.evaluation.value == pytest.approx(SEED_VALUE, rel=1e-15)
    partials = by_input(result)
    assert list(partials) == ["x", "y"]
    accuracy = {"central": 1e-8, "forward": 1e-6, "richardson": 1e-10, "complex": 1e-14}[method]
    for name, exact in (("x", GX), ("y", GY)):
        p = partials[name]
        assert p.verdict == "pass", (name, p)
        assert p.reverse == pytest.approx(exact, rel=1e-14)
        assert p.tested == p.reverse and p.claimed is None
        assert p.numeric == pytest.approx(exact, rel=accuracy)
        assert p.abs_error == pytest.approx(abs(p.reverse - p.numeric), rel=1e-12, abs=1e-300)
        assert p.rel_error == pytest.approx(abs(p.reverse - p.numeric) / max(abs(p.reverse), abs(p.numeric)),
                                            rel=1e-12, abs=1e-300)
        assert p.rel_error <= 1e-7
        assert p.step is not None and p.step > 0
        assert p.error_estimate is not None and p.error_estimate >= 0
        assert p.kink is None
    assert result.counts() == {"pass": 2, "fail": 0, "kink": 0, "uncertain": 0, "non-finite": 0}


@pytest.mark.parametrize("method, rule", [
    ("central", lambda x: EPS ** (1 / 3) * max(1.0, abs(x))),
    ("forward", lambda x: math.sqrt(EPS) * max(1.0, abs(x))),
])
def test_default_steps_are_the_documented_ones_and_representable(method, rule):
    result = check(HEADLINE, POINT, settings=CheckSettings(method=method))
    for p in result.partials:
        assert p.method == method
        h = representable_step(p.at, rule(p.at))
        assert p.step == h
        assert (p.at + p.step) - p.at == p.step  # exactly representable


def test_complex_step_reports_its_step():
    for p in check(HEADLINE, POINT, settings=CheckSettings(method="complex")).partials:
        assert p.method == "complex" and p.step == 1e-20
        assert p.numeric == pytest.approx(p.reverse, rel=4 * EPS)


@pytest.mark.parametrize("method", METHODS)
def test_headline_cli_exit_0_and_strict_json(run, method):
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--method", method)
    assert code == 0
    assert data["ok"] is True
    assert data["command"] == "check"
    assert data["settings"]["method"] == method
    assert data["settings"]["rtol"] == 1e-7 and data["settings"]["atol"] == 0
    assert data["point"] == {"x": 3, "y": -4}
    assert data["value"] == pytest.approx(SEED_VALUE, rel=1e-15)
    assert [p["input"] for p in data["partials"]] == ["x", "y"]
    for p, exact in zip(data["partials"], (GX, GY)):
        assert PARTIAL_KEYS <= set(p), PARTIAL_KEYS - set(p)
        assert p["verdict"] == "pass"
        assert p["reverse"] == pytest.approx(exact, rel=1e-14)
        assert p["numeric"] == pytest.approx(exact, rel=1e-6)
        assert p["claimed"] is None
        for key in ("numeric", "abs_error", "rel_error", "step", "error_estimate"):
            assert isinstance(p[key], (int, float)), key
        assert p["abs_error"] == pytest.approx(abs(p["reverse"] - p["numeric"]), rel=1e-9, abs=1e-300)
        assert 0 <= p["rel_error"] <= 1e-7
    assert data["counts"]["pass"] == 2 and data["counts"]["fail"] == 0


def test_headline_cli_human_output(run):
    code, out, _ = run("check", HEADLINE, "x=3", "y=-4")
    assert code == 0
    # the settings actually used, with the defaults printed
    assert "rtol 1e-07" in out and "atol 0" in out and "method central" in out
    for column in ("reverse mode", "numeric", "abs error", "rel error", "step", "error est.", "verdict"):
        assert column in out, column
    assert "2.0595697955721652" in out and "1.5922327514838093" in out
    assert out.count("pass") >= 2
    assert re.search(r"ok: 2 of 2 partials agree", out)
    assert "FAIL" not in out


@pytest.mark.parametrize("method", TRUSTED)
def test_headline_full_precision_claims_equal_to_reverse_pass_cli(run, method):
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--method", method,
                          "--claim", f"x={SEED_DX!r}", "--claim", f"y={SEED_DY!r}")
    assert code == 0 and data["ok"] is True
    parts = json_by_input(data)
    assert parts["x"]["claimed"] == SEED_DX and parts["y"]["claimed"] == SEED_DY
    assert all(p["verdict"] == "pass" for p in data["partials"])


def test_staged_cs231n_sample_file(run):
    code, data = run_json(run, "check", "-f", str(SAMPLES / "cs231n_staged.grad"), "x=3", "y=-4", "--method", "richardson")
    assert code == 0 and data["ok"] is True
    parts = json_by_input(data)
    assert parts["x"]["reverse"] == SEED_DX and parts["y"]["reverse"] == SEED_DY
    assert parts["x"]["numeric"] == pytest.approx(SEED_DX, rel=1e-9)


@pytest.mark.parametrize("method", TRUSTED)
def test_sigmoid_neuron(method):
    # ../shared/seed-examples.md section 3
    point = {"w0": 2.0, "w1": -3.0, "w2": -3.0, "x0": -1.0, "x1": -2.0}
    expected = {"w0": -0.19661193324148185, "w1": -0.3932238664829637, "w2": 0.19661193324148185,
                "x0": 0.3932238664829637, "x1": -0.5898357997244456}
    result = check("f = sigmoid(w0*x0 + w1*x1 + w2)", point, settings=CheckSettings(method=method))
    assert result.ok and result.evaluation.value == pytest.approx(0.7310585786300049, rel=1e-15)
    for p in result.partials:
        assert p.verdict == "pass"
        assert p.numeric == pytest.approx(expected[p.input], rel=1e-8)
    wrong = dict(expected, x1=expected["x1"] * (1 + 1e-4))
    bad = by_input(check("sigmoid(w0*x0 + w1*x1 + w2)", point, settings=CheckSettings(method=method), claims=wrong))
    assert bad["x1"].verdict == "fail"
    assert all(bad[n].verdict == "pass" for n in expected if n != "x1")


def test_max_gate_routes_the_gradient(run):
    # ../shared/seed-examples.md section 2: df/dw = 0 (max routes to z), no tie: no kink.
    code, data = run_json(run, "check", "2 * (x*y + max(z, w))", "x=3", "y=-4", "z=2", "w=-1")
    assert code == 0 and data["ok"] is True
    parts = json_by_input(data)
    assert {k: parts[k]["reverse"] for k in "xyzw"} == {"x": -8, "y": 6, "z": 2, "w": 0}
    assert all(p["verdict"] == "pass" and p["kink"] is None for p in data["partials"])


# -- exit code 2 and JSON errors -------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ("check", "x +", "x=1"),                        # syntax
    ("check", "sin(x) * y", "x=1"),                 # missing value
    ("check", "log(x)", "x=-1"),                    # outside the domain
    ("check", "exp(x)", "x=1000"),                  # overflow
    ("check", "x", "x=abc"),                        # malformed value
    ("check", "x^2", "x=1", "--method", "secant"),  # unknown method
    ("check", "x^2", "x=1", "--samples", "0"),      # bad count
    ("check", "x^2", "x=1", "--step", "0"),
    ("check", "x^2", "x=1", "--step", "-1e-3"),
    ("check", "x^2", "x=1", "--rtol", "-1"),
    ("check", "x^2", "x=1", "--atol", "nan"),
    ("check", "x^2", "x=1", "--rtol", "inf"),
])
def test_cannot_compute_exits_2_with_a_json_error(run, argv):
    code, out, err = run(*argv, "--json")
    assert code == 2
    data = strict_json(out)
    assert "error" in data and data["error"]["message"]
    assert "ok" not in data
    assert err.strip()


# -- planted bugs that must fail -------------------------------------------------------------------


@pytest.mark.parametrize("method", TRUSTED)
@pytest.mark.parametrize("relative", [1e-2, 1e-4, 1e-6, -1e-2, -1e-4, -1e-6])
@pytest.mark.parametrize("wrong", ["x", "y"])
def test_perturbed_claim_is_caught(method, relative, wrong):
    claims = {"x": GX, "y": GY}
    claims[wrong] *= 1 + relative
    result = check(HEADLINE, POINT, settings=CheckSettings(method=method), claims=claims)
    parts = by_input(result)
    assert not result.ok
    assert parts[wrong].verdict == "fail", parts[wrong]
    assert parts[wrong].claimed == claims[wrong] and parts[wrong].tested == claims[wrong]
    assert parts[wrong].reverse == pytest.approx(GX if wrong == "x" else GY, rel=1e-14)
    assert parts[wrong].rel_error == pytest.approx(abs(relative) / (1 + max(relative, 0)), rel=1e-3)
    other = "y" if wrong == "x" else "x"
    assert parts[other].verdict == "pass"


@pytest.mark.parametrize("relative", [1e-2, 1e-4, 1e-6])
def test_perturbed_claim_is_caught_by_forward_too(relative):
    # "an error of 1e-6 relative or larger must be caught" (possibly after escalating)
    result = check(HEADLINE, POINT, settings=CheckSettings(method="forward"), claims={"x": GX * (1 + relative)})
    assert by_input(result)["x"].verdict == "fail"
    assert by_input(result)["y"].verdict == "pass"


@pytest.mark.parametrize("method", TRUSTED)
@pytest.mark.parametrize("relative", [1e-2, 1e-4, 1e-6])
def test_perturbed_claim_cli_exit_1(run, method, relative):
    bad = GY * (1 + relative)
    code, out, _ = run("check", HEADLINE, "x=3", "y=-4", "--method", method,
                       "--claim", f"x={GX!r}", "--claim", f"y={bad!r}")
    assert code == 1
    assert "FAIL" in out and "wrong: y" in out and "wrong: x" not in out
    assert "claimed" in out
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--method", method,
                          "--claim", f"x={GX!r}", "--claim", f"y={bad!r}")
    assert code == 1 and data["ok"] is False
    parts = json_by_input(data)
    assert parts["y"]["verdict"] == "fail" and parts["y"]["claimed"] == bad
    assert parts["x"]["verdict"] == "pass"
    assert data["counts"]["fail"] == 1


@pytest.mark.parametrize("method", TRUSTED)
def test_sign_flip_is_caught(method):
    result = check(HEADLINE, POINT, settings=CheckSettings(method=method), claims={"x": -GX, "y": GY})
    parts = by_input(result)
    assert parts["x"].verdict == "fail" and parts["y"].verdict == "pass"
    assert parts["x"].rel_error == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("method", TRUSTED)
def test_swapped_partials_are_caught(run, method):
    result = check(HEADLINE, POINT, settings=CheckSettings(method=method), claims={"x": GY, "y": GX})
    assert [p.verdict for p in result.partials] == ["fail", "fail"]
    code, out, _ = run("check", HEADLINE, "x=3", "y=-4", "--method", method,
                       "--claim", f"x={GY!r}", "--claim", f"y={GX!r}")
    assert code == 1 and "wrong: x, y" in out


@pytest.mark.parametrize("method", TRUSTED)
def test_dropped_chain_rule_term_is_caught(run, method):
    # d/dx sin(x*y) = y cos(xy); the bug forgets the inner derivative y.
    x, y = 0.7, 1.3
    claims = {"x": math.cos(x * y), "y": x * math.cos(x * y)}
    result = check("sin(x*y)", {"x": x, "y": y}, settings=CheckSettings(method=method), claims=claims)
    parts = by_input(result)
    assert parts["x"].verdict == "fail" and parts["y"].verdict == "pass"
    assert parts["x"].numeric == pytest.approx(y * math.cos(x * y), rel=1e-6)
    code, data = run_json(run, "check", "sin(x*y)", f"x={x}", f"y={y}", "--method", method,
                          "--claim", f"x={claims['x']!r}", "--claim", f"y={claims['y']!r}")
    assert code == 1
    assert [p["verdict"] for p in data["partials"]] == ["fail", "pass"]


@pytest.mark.parametrize("method", TRUSTED)
def test_dropped_term_in_the_headline_is_caught(method):
    # The sigmoid'(x) term of the denominator's derivative is forgotten.
    dropped, _ = _headline_gradient(drop_sigmoid_term=True)
    assert abs(dropped - GX) > 1e-3 * abs(GX)  # the bug is visible at all
    parts = by_input(check(HEADLINE, POINT, settings=CheckSettings(method=method), claims={"x": dropped}))
    assert parts["x"].verdict == "fail" and parts["y"].verdict == "pass"
    assert parts["y"].claimed is None  # an input without a claim is checked with gradcli's own partial


def test_tiny_scales_are_judged_relatively():
    # Absolute errors mean nothing at 1e-30: a 1% error is still caught, the right value still passes.
    x = 0.4
    good = check("1e-30 * sin(x)", {"x": x}).partials[0]
    assert good.verdict == "pass" and good.reverse == pytest.approx(1e-30 * math.cos(x), rel=1e-14)
    bad = check("1e-30 * sin(x)", {"x": x}, claims={"x": 1.01e-30 * math.cos(x)}).partials[0]
    assert bad.verdict == "fail"
    big = check("1e30 * sin(x)", {"x": x}, claims={"x": 1e30 * math.cos(x)}).partials[0]
    assert big.verdict == "pass"


# -- a wrong op rule, found node by node -----------------------------------------------------------


WRONG_SIN_RULES = {
    "sign": lambda a, out: (-math.cos(a[0]),),
    "value instead of slope": lambda a, out: (out,),
    "relative 1e-6": lambda a, out: (math.cos(a[0]) * (1 + 1e-6),),
}


@pytest.fixture(params=list(WRONG_SIN_RULES))
def wrong_sin(request, monkeypatch):
    op = gradcli.ops.OPS["sin"]
    wrong = op._replace(partials=WRONG_SIN_RULES[request.param])
    # The parser builds nodes from OPS and validates calls through FUNCTIONS: patch both.
    monkeypatch.setitem(gradcli.ops.OPS, "sin", wrong)
    monkeypatch.setitem(gradcli.ops.FUNCTIONS, "sin", wrong)
    assert gradcli.parser.OPS["sin"] is wrong and gradcli.parser.FUNCTIONS["sin"] is wrong
    return request.param


NODES_PROGRAM = "sin(x*y) + x^2"
NODES_POINT = {"x": 0.5, "y": 1.5}


def test_wrong_sin_rule_is_named_by_node_and_op(wrong_sin):
    result = check(NODES_PROGRAM, NODES_POINT)
    graph = result.evaluation.graph
    sin_node = node_of(graph, "sin")
    assert graph.nodes[sin_node].op.partials is WRONG_SIN_RULES[wrong_sin]  # the patch took effect
    # the input-level check fails too, for both inputs (both pass through sin)
    assert not result.ok
    assert [p.verdict for p in result.partials] == ["fail", "fail"]
    nodes = check_nodes(result.evaluation, CheckSettings())
    failing = [n for n in nodes if not n.ok]
    assert [(n.node, n.op, n.verdict) for n in failing] == [(sin_node, "sin", "fail")]
    assert failing[0].numeric == pytest.approx(math.cos(0.75), rel=1e-8)
    others = [n for n in nodes if n.node != sin_node]
    assert {n.op for n in others} == {"mul", "pow", "add"}
    assert all(n.verdict == "pass" for n in others)


def test_wrong_sin_rule_cli_nodes(run, wrong_sin):
    code, out, _ = run("check", NODES_PROGRAM, "x=0.5", "y=1.5", "--nodes")
    assert code == 1
    assert re.search(r"wrong: node \d+ \(sin\)\)", out), out
    code, data = run_json(run, "check", NODES_PROGRAM, "x=0.5", "y=1.5", "--nodes")
    assert code == 1 and data["ok"] is False
    bad = [n for n in data["nodes"] if n["verdict"] != "pass"]
    assert [(n["op"], n["verdict"], n["text"]) for n in bad] == [("sin", "fail", "sin(x*y)")]
    assert {n["op"] for n in data["nodes"]} == {"sin", "mul", "pow", "add"}


def test_wrong_sin_rule_fails_at_sampled_points(run, wrong_sin):
    code, data = run_json(run, "check", "sin(x)", "x=0.5", "--samples", "5", "--seed", "11", "--range", "x=-1:1")
    assert code == 1 and data["ok"] is False
    assert data["samples"]["checked"] == 5 and data["samples"]["failed"] == 5


@pytest.mark.parametrize("method", TRUSTED)
def test_nodes_pass_without_a_planted_bug(run, method):
    result = check(NODES_PROGRAM, NODES_POINT, settings=CheckSettings(method=method))
    nodes = check_nodes(result.evaluation, CheckSettings(method=method))
    assert len(nodes) == 6  # mul: 2 edges, sin: 1, pow: 1 (not from the constant exponent), add: 2
    assert all(n.verdict == "pass" for n in nodes), [(n.op, n.verdict) for n in nodes]
    code, data = run_json(run, "check", NODES_PROGRAM, "x=0.5", "y=1.5", "--nodes", "--method", method)
    assert code == 0 and data["ok"] is True and len(data["nodes"]) == len(nodes)


# -- no false alarms over random smooth programs ---------------------------------------------------


UNARY = [
    "sin({a})", "cos({a})", "tanh({a})", "atan({a})", "sigmoid({a})", "softplus({a})", "exp({a})",
    "sinh({a})", "cosh({a})", "log(1 + ({a})^2)", "sqrt(2 + sin({a}))", "({a})^2", "({a})^3", "-({a})",
    "log2(3 + cos({a}))", "asin(tanh({a}) / 2)", "exp(-({a})^2)",
]
BINARY = [
    "({a}) + ({b})", "({a}) - ({b})", "({a}) * ({b})", "({a}) / (1 + ({b})^2)", "atan2({a}, 2 + cos({b}))",
    "pow(2 + tanh({a}), {b})", "log(3 + sin({a}), 2 + exp({b}))",
]
LEAVES = ["x", "y", "z", "x", "y", "0.5", "1.5", "pi"]


@st.composite
def smooth_programs(draw, depth=4):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(LEAVES))
    if draw(st.booleans()):
        return draw(st.sampled_from(UNARY)).format(a=draw(smooth_programs(depth - 1)))
    return draw(st.sampled_from(BINARY)).format(a=draw(smooth_programs(depth - 1)),
                                               b=draw(smooth_programs(depth - 1)))


COORDINATE = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)
SMOOTH_POINTS = st.fixed_dictionaries({"x": COORDINATE, "y": COORDINATE, "z": COORDINATE})
# No shrinking: a failure is reported as found, so a run stays well under a minute.
RANDOM = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _passes(p) -> bool:
    """A pass; or, for derivatives near the underflow threshold, where no numerical
    method resolves anything (h * f' is subnormal), an honest "uncertain"."""
    tiny = max(abs(p.tested), abs(p.numeric or 0.0)) < 1e-250
    return p.verdict == "pass" or (tiny and p.verdict == "uncertain")


def _smooth_check_or_skip(program: str, point: dict, method: str, **kwargs):
    assume(any(name in program for name in ("x", "y", "z")))
    try:
        return check(program, point, settings=CheckSettings(method=method), **kwargs)
    except GradcliError:
        assume(False)  # overflow: exp(exp(...)) and the like


@RANDOM
@given(smooth_programs(), SMOOTH_POINTS)
def test_no_false_alarm_on_random_smooth_programs(program, point):
    for method in TRUSTED:
        result = _smooth_check_or_skip(program, point, method)
        assume(all(math.isfinite(g) for g in result.evaluation.gradient.values()))
        for p in result.partials:
            assert _passes(p), (program, point, method, p)
            assert p.kink is None
    # claims equal to gradcli's own reverse-mode gradient pass as well
    claims = dict(result.evaluation.gradient)
    claimed = check(program, point, claims=claims)
    assert claimed.ok and all(_passes(p) for p in claimed.partials), claimed.partials
    # and node by node, every local partial of the op table agrees
    nodes = check_nodes(claimed.evaluation, CheckSettings())
    assert all(n.verdict == "pass" for n in nodes), [(n.op, n.verdict, n.tested, n.numeric) for n in nodes]


@settings(RANDOM, max_examples=50)
@given(smooth_programs(), SMOOTH_POINTS, st.sampled_from([1e-6, -1e-6, 1e-4]))
def test_small_planted_errors_are_caught_on_random_programs(program, point, relative):
    result = _smooth_check_or_skip(program, point, "central")
    for name, g in result.evaluation.gradient.items():
        assume(abs(g) > 1e-6)
        wrong = check(program, point, claims={name: g * (1 + relative)})
        assert by_input(wrong)[name].verdict == "fail", (program, point, name, by_input(wrong)[name])


# -- smooth points that must not be called kinks or failures ---------------------------------------
# Each case is smooth where it is checked, and gradcli's gradient is right (asserted against the
# closed form first), so the spec allows neither "fail" nor "kink" there.


@pytest.mark.parametrize("method", TRUSTED)
@pytest.mark.parametrize("program, point, name, exact", [
    ("2^x", {"x": 1.0}, "x", 2 * math.log(2)),                            # integer exponent, base > 0
    ("x^y", {"x": 1.5, "y": 2.0}, "y", 1.5**2 * math.log(1.5)),
    ("pow(3, x)", {"x": 0.0}, "x", math.log(3)),
    ("atan2(y, 2)", {"y": 0.0}, "y", 0.5),                                # on the positive x axis
    ("atan2(y, x)", {"y": 0.0, "x": 2.0}, "x", 0.0),
])
def test_smooth_points_of_pow_and_atan2_are_not_kinks(method, program, point, name, exact):
    result = check(program, point, settings=CheckSettings(method=method))
    p = by_input(result)[name]
    assert p.reverse == pytest.approx(exact, rel=1e-15, abs=1e-300)
    assert p.kink is None, p.kink
    assert p.verdict == "pass", p


@pytest.mark.parametrize("program, point, exact", [
    ("2^x", {"x": 1.0}, 2 * math.log(2)),
    ("atan2(x, 2) + x^2", {"x": 0.0}, 0.5),
])
@pytest.mark.parametrize("relative", [1e-6, -1e-6, 1e-5])
def test_smooth_points_do_not_hide_a_planted_error(program, point, exact, relative):
    p = check(program, point, claims={"x": exact * (1 + relative)}).partials[0]
    assert p.reverse == pytest.approx(exact, rel=1e-15)
    assert p.verdict == "fail", p


@pytest.mark.parametrize("method", TRUSTED)
@pytest.mark.parametrize("program, point, exact", [
    ("x^3", {"x": 0.0}, 0.0),                                              # complex step: -h^2 truncation
    ("x^3", {"x": 1e-30}, 3e-60),
    ("sin(x^3)", {"x": 0.0}, 0.0),
    ("log(3 + sin(x), 2 + exp(x))", {"x": 0.0}, 0.0),                      # (ln3/3 - ln3/3) / ln(3)^2
])
def test_zero_or_tiny_derivatives_do_not_fail(method, program, point, exact):
    result = check(program, point, settings=CheckSettings(method=method))
    p = result.partials[0]
    assert p.reverse == pytest.approx(exact, abs=1e-300)
    assert p.verdict != "fail", p
    assert result.ok


@pytest.mark.parametrize("method", ["central", "richardson"])
@pytest.mark.parametrize("program, point, exact", [
    ("sin(x)", {"x": 1e4}, math.cos(1e4)),
    ("sin(x)", {"x": 1e6}, math.cos(1e6)),
    ("sin(10000*x)", {"x": 0.0}, 10000.0),
    ("cos(1/x)", {"x": 1e-3}, math.sin(1e3) * 1e6),
])
def test_fast_oscillation_is_not_a_false_failure(method, program, point, exact):
    # The default steps are relative to |x|: far larger than the period here. The estimate is
    # then meaningless, and the checker must say so (or escalate), not call a right gradient wrong.
    result = check(program, point, settings=CheckSettings(method=method))
    p = result.partials[0]
    assert p.reverse == pytest.approx(exact, rel=1e-9)
    assert p.verdict != "fail", p
    assert result.ok


@pytest.mark.parametrize("program, point, exact", [
    ("cos(x)", {"x": 1e-299}, -math.sin(1e-299)),
    ("sigmoid(x)", {"x": 686.0}, math.exp(-686.0)),
])
def test_derivatives_near_underflow_do_not_fail(program, point, exact):
    # h * f' is subnormal for the complex step (h = 1e-20): its imaginary part loses digits.
    result = check(program, point)
    p = result.partials[0]
    assert p.reverse == pytest.approx(exact, rel=1e-12)
    assert p.verdict != "fail", p


# -- kinks -----------------------------------------------------------------------------------------


KINKS = [
    # program, point, input, op with the kink, gradcli's value, left, right
    ("relu(x)", {"x": 0.0}, "x", "relu", 0.0, 0.0, 1.0),
    ("abs(x)", {"x": 0.0}, "x", "abs", 0.0, -1.0, 1.0),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, "x", "max", 0.5, 0.0, 1.0),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, "y", "max", 0.5, 0.0, 1.0),
    ("min(x, y)", {"x": 2.0, "y": 2.0}, "x", "min", 0.5, 1.0, 0.0),
    ("min(x, y)", {"x": 2.0, "y": 2.0}, "y", "min", 0.5, 1.0, 0.0),
    ("3 * abs(x - 0.25) + 1", {"x": 0.25}, "x", "abs", 0.0, -3.0, 3.0),
    ("max(x*y, 1)", {"x": 0.5, "y": 2.0}, "x", "max", 1.0, 0.0, 2.0),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("program, point, name, op, value, left, right", KINKS)
def test_kink_at_the_point(method, program, point, name, op, value, left, right):
    result = check(program, point, settings=CheckSettings(method=method))
    p = by_input(result)[name]
    assert p.reverse == pytest.approx(value, abs=1e-15)
    assert p.verdict == "kink", p
    assert result.ok
    kink_node = node_of(result.evaluation.graph, op)
    assert kink_node in [node for node, _ in p.kink.nodes]
    assert p.kink.left == pytest.approx(left, abs=1e-6)
    assert p.kink.right == pytest.approx(right, abs=1e-6)
    assert min(left, right) - 1e-6 <= p.kink.low and p.kink.high <= max(left, right) + 1e-6 + 1e-3


@pytest.mark.parametrize("program, point, name, op, value, left, right", KINKS)
def test_claims_outside_the_one_sided_interval_fail_inside_are_kink(program, point, name, op, value, left, right):
    low, high = min(left, right), max(left, right)
    span = high - low
    for outside in (high + 0.5 * span, low - 0.5 * span, high + 0.01 * span):
        p = by_input(check(program, point, claims={name: outside}))[name]
        assert p.verdict == "fail", (outside, p)
    for inside in (low + 0.3 * span, low, high, (low + high) / 2):
        p = by_input(check(program, point, claims={name: inside}))[name]
        assert p.verdict == "kink", (inside, p)


BRANCH_CHANGES = [
    # the winning branch (or the sign) changes between x - h and x + h, not at x itself:
    # the function is smooth at x, so the checker steps closer instead of giving up
    ("max(x, 1e-7)", {"x": 0.0}, 0.0),
    ("min(x, -1e-7)", {"x": 0.0}, 0.0),
    ("relu(x - 1e-7)", {"x": 0.0}, 0.0),
    ("abs(x + 1e-7)", {"x": 0.0}, 1.0),
    ("relu(x)", {"x": 1e-6}, 1.0),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("program, point, slope", BRANCH_CHANGES)
def test_kink_within_the_step_is_stepped_around(method, program, point, slope):
    result = check(program, point, settings=CheckSettings(method=method))
    p = result.partials[0]
    assert p.verdict == "pass", p
    assert p.reverse == slope and p.numeric == pytest.approx(slope, abs=1e-6)
    assert p.kink is None
    assert p.method == "complex" or p.step < default_step("central", point["x"])
    assert any("kink lies within the default step" in note for note in p.notes), p.notes
    for wrong in (2.5, slope + 1e-5, 1.0 - slope):
        bad = by_input(check(program, point, settings=CheckSettings(method=method), claims={"x": wrong}))["x"]
        assert bad.verdict == "fail", (wrong, bad)


KINKS_TOO_CLOSE = [
    # closer to the kink than 1/4096 of the step: one-sided derivatives decide
    ("max(x, 1e-14)", {"x": 0.0}, "max"),
    ("relu(x - 1e-14)", {"x": 0.0}, "relu"),
    ("abs(x + 1e-14)", {"x": 0.0}, "abs"),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("program, point, op", KINKS_TOO_CLOSE)
def test_kink_within_the_step(method, program, point, op):
    result = check(program, point, settings=CheckSettings(method=method))
    p = result.partials[0]
    assert p.verdict == "kink", p
    assert result.ok
    assert node_of(result.evaluation.graph, op) in [node for node, _ in p.kink.nodes]
    assert p.kink.left is not None and p.kink.right is not None
    assert p.kink.low <= p.reverse <= p.kink.high
    assert p.kink.left != pytest.approx(p.kink.right, abs=0.1)  # the sides really differ
    bad = by_input(check(program, point, settings=CheckSettings(method=method), claims={"x": 2.5}))["x"]
    assert bad.verdict == "fail"


@pytest.mark.parametrize("program, point, op", [
    ("relu(x) * 2", {"x": 0.0}, "relu"), ("abs(x) + x", {"x": 0.0}, "abs"), ("max(x, y) * 3", {"x": 1.0, "y": 1.0}, "max"),
])
def test_kinks_node_by_node(program, point, op):
    result = check(program, point)
    nodes = check_nodes(result.evaluation, CheckSettings())
    kink_node = node_of(result.evaluation.graph, op)
    at_kink = [n for n in nodes if n.node == kink_node]
    assert at_kink and all(n.verdict == "kink" for n in at_kink), [(n.op, n.verdict) for n in at_kink]
    for n in at_kink:
        assert [node for node, _ in n.kink.nodes] == [kink_node] * len(n.kink.nodes)
        assert n.kink.left is not None and n.kink.right is not None
    assert all(n.verdict == "pass" for n in nodes if n.node != kink_node)


def test_far_from_a_kink_is_smooth():
    p = check("relu(x) + abs(y)", {"x": 1e-3, "y": -1e-3}).partials
    assert [q.verdict for q in p] == ["pass", "pass"]
    assert [q.kink for q in p] == [None, None]
    assert [q.reverse for q in p] == [1.0, -1.0]


def test_kink_cli_names_the_node_and_shows_both_sides(run):
    code, out, err = run("check", "relu(x) * 2", "x=0")
    assert code == 0
    assert "kink" in out and "relu(x)" in out
    assert re.search(r"left\s+0\b", out) and re.search(r"right\s+2\b", out), out  # the line may wrap
    assert "relu" in err  # the evaluation warns about the kink too
    code, data = run_json(run, "check", "relu(x) * 2", "x=0")
    assert code == 0 and data["ok"] is True
    p = data["partials"][0]
    assert p["verdict"] == "kink"
    assert p["kink"]["left"] == pytest.approx(0.0, abs=1e-9) and p["kink"]["right"] == pytest.approx(2.0, rel=1e-9)
    assert [entry["node"] for entry in p["kink"]["nodes"]] == [1]  # node 0 is x, node 1 is relu(x)
    assert "relu" in p["kink"]["nodes"][0]["description"]
    assert len(p["kink"]["interval"]) == 2


@pytest.mark.parametrize("claim, code_expected, verdict", [
    ("1.5", 1, "fail"), ("-0.5", 1, "fail"), ("0.3", 0, "kink"), ("0", 0, "kink"), ("1", 0, "kink"),
])
def test_kink_claims_cli(run, claim, code_expected, verdict):
    code, data = run_json(run, "check", "relu(x)", "x=0", "--claim", f"x={claim}")
    assert code == code_expected
    assert data["partials"][0]["verdict"] == verdict
    assert data["ok"] is (code_expected == 0)


def test_complex_step_through_non_analytic_ops_says_so_and_is_right():
    result = check("abs(x) * x + relu(y) + max(x, y)", {"x": -1.5, "y": 2.0}, settings=CheckSettings(method="complex"))
    parts = by_input(result)
    # d/dx (|x| x + max(x, y)) = 2|x| + 0 = 3 at x = -1.5; d/dy = 1 + 1 = 2
    assert parts["x"].verdict == "pass" and parts["x"].numeric == pytest.approx(3.0, rel=1e-12)
    assert parts["y"].verdict == "pass" and parts["y"].numeric == pytest.approx(2.0, rel=1e-12)
    for p in result.partials:
        # either the complex step, saying what it went through, or another method instead
        assert p.method != "complex" or any("abs" in n or "relu" in n or "max" in n for n in p.notes), p.notes


# -- non-finite, zero, cancellation ----------------------------------------------------------------


def test_sqrt_at_zero_is_non_finite(run):
    p = check("sqrt(x)", {"x": 0.0}).partials[0]
    assert p.verdict == "non-finite"
    assert p.reverse == math.inf
    assert not p.ok
    code, out, _ = run("check", "sqrt(x)", "x=0")
    assert code == 1 and "non-finite" in out
    code, data = run_json(run, "check", "sqrt(x)", "x=0")  # strict JSON even with an infinite partial
    assert code == 1 and data["ok"] is False
    assert data["partials"][0]["verdict"] == "non-finite"
    assert data["partials"][0]["reverse"] == "Infinity"


def test_exactly_zero_partial_passes_with_a_note(run):
    result = check("x + 0*y", {"x": 1.3, "y": 2.0})
    parts = by_input(result)
    assert parts["x"].verdict == "pass" and parts["x"].reverse == 1.0
    p = parts["y"]
    assert p.reverse == 0.0 and p.verdict == "pass"
    assert p.rel_error == 0.0  # both zero: no 0/0
    assert any("exactly 0" in note or "zero" in note.lower() for note in p.notes), p.notes
    assert relative_error(0.0, 0.0) == 0.0
    code, data = run_json(run, "check", "x + 0*y", "x=1.3", "y=2")
    assert code == 0
    y = json_by_input(data)["y"]
    assert y["verdict"] == "pass" and y["rel_error"] == 0 and y["notes"]


@pytest.mark.parametrize("method", ["central", "forward"])
def test_cancellation_escalates_instead_of_failing(method):
    # f = 1e8 + 1e-3 x: f(x+h) - f(x-h) is below one ulp of 1e8 at the default step.
    p = check("1e8 + 1e-3*x", {"x": 1.0}, settings=CheckSettings(method=method)).partials[0]
    assert p.reverse == 1e-3
    assert p.verdict == "pass", p
    assert p.method in ("richardson", "complex") and p.method != method
    assert p.numeric == pytest.approx(1e-3, rel=1e-7)
    assert any("escalat" in note for note in p.notes), p.notes


def test_cancellation_does_not_hide_a_wrong_claim():
    p = check("1e8 + 1e-3*x", {"x": 1.0}, claims={"x": 1e-3 * (1 + 1e-6)}).partials[0]
    assert p.verdict == "fail"


# -- claims ----------------------------------------------------------------------------------------


def test_claim_tolerance_from_digits():
    assert claim_tolerance("2.0595") == 1e-4
    assert claim_tolerance("1.5922") == 1e-4
    assert claim_tolerance("-0.00123") == pytest.approx(1e-5)
    assert claim_tolerance("2.06e-3") == pytest.approx(1e-5)
    assert claim_tolerance("2.0595697955721652") == 0.0
    assert claim_tolerance(repr(SEED_DY)) == 0.0


def test_claims_to_four_decimals_pass_and_a_wrong_fourth_decimal_fails(run):
    assert abs(2.0595 - SEED_DX) < 1e-4 < abs(2.0593 - SEED_DX)  # the premise
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claim", "x=2.0595", "--claim", "y=1.5922")
    assert code == 0 and data["ok"] is True
    parts = json_by_input(data)
    assert parts["x"]["claimed"] == 2.0595 and parts["y"]["claimed"] == 1.5922
    assert all(p["verdict"] == "pass" for p in data["partials"])
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claim", "x=2.0593", "--claim", "y=1.5922")
    assert code == 1
    assert [p["verdict"] for p in data["partials"]] == ["fail", "pass"]
    # the same through the API
    ok = check(HEADLINE, POINT, claims={"x": 2.0595}, claim_tolerances={"x": claim_tolerance("2.0595")})
    assert by_input(ok)["x"].verdict == "pass"
    bad = check(HEADLINE, POINT, claims={"x": 2.0593}, claim_tolerances={"x": claim_tolerance("2.0593")})
    assert by_input(bad)["x"].verdict == "fail"
    # without the tolerance of its digits, a 4-decimal claim is not the gradient
    strict = check(HEADLINE, POINT, claims={"x": 2.0595})
    assert by_input(strict)["x"].verdict == "fail"


def test_claims_file(run, tmp_path):
    good = tmp_path / "claims.json"
    good.write_text(json.dumps({"x": SEED_DX, "y": SEED_DY}))
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claims", str(good))
    assert code == 0 and data["ok"] is True
    assert [p["claimed"] for p in data["partials"]] == [SEED_DX, SEED_DY]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"x": SEED_DX, "y": SEED_DY * (1 + 1e-5)}))
    code, out, _ = run("check", HEADLINE, "x=3", "y=-4", "--claims", str(bad))
    assert code == 1 and "wrong: y" in out
    partial = tmp_path / "only_x.json"
    partial.write_text('{"x": -2.0595697955721652}')
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claims", str(partial))
    assert code == 1
    assert [p["verdict"] for p in data["partials"]] == ["fail", "pass"]
    assert json_by_input(data)["y"]["claimed"] is None


def test_claims_file_from_gradcli_eval_json(run, tmp_path):
    code, out, _ = run("eval", HEADLINE, "x=3", "y=-4", "--json")
    assert code == 0 and "gradient" in strict_json(out)
    path = tmp_path / "eval.json"
    path.write_text(out)
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claims", str(path))
    assert code == 0 and data["ok"] is True
    assert [p["claimed"] for p in data["partials"]] == [SEED_DX, SEED_DY]
    # eval output at another point is a wrong claim here
    code, out, _ = run("eval", HEADLINE, "x=3", "y=-3.9", "--json")
    path.write_text(out)
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claims", str(path))
    assert code == 1 and data["ok"] is False


def test_claims_from_stdin(run):
    text = json.dumps({"x": SEED_DX, "y": SEED_DY})
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claims", "-", stdin=text)
    assert code == 0 and data["ok"] is True
    assert [p["claimed"] for p in data["partials"]] == [SEED_DX, SEED_DY]
    code, out, _ = run("check", HEADLINE, "x=3", "y=-4", "--claims", "-", stdin='{"x": 2.0595, "y": -1.5922}')
    assert code == 1 and "wrong: y" in out
    # the program and the claims cannot both come from stdin
    code, _, err = run("check", "-", "x=3", "--claims", "-", stdin="x^2")
    assert code == 2 and err.strip()


def test_claims_from_stdin_with_click_runner():
    from click.testing import CliRunner

    import gradcli.cli

    runner = CliRunner()
    argv = ["check", HEADLINE, "x=3", "y=-4", "--claims", "-", "--json"]
    good = runner.invoke(gradcli.cli.cli, argv, input='{"x": 2.0595, "y": 1.5922}', standalone_mode=False)
    assert good.exception is None and good.return_value == 0
    data = strict_json(good.stdout)
    assert data["ok"] is True and [p["claimed"] for p in data["partials"]] == [2.0595, 1.5922]
    bad = runner.invoke(gradcli.cli.cli, argv, input='{"x": 2.0595, "y": -1.5922}', standalone_mode=False)
    assert bad.return_value == 1
    assert [p["verdict"] for p in strict_json(bad.stdout)["partials"]] == ["pass", "fail"]


def test_claims_for_an_unknown_name_exit_2(run, tmp_path):
    code, out, err = run("check", HEADLINE, "x=3", "y=-4", "--claim", "z=1")
    assert code == 2 and "z" in err
    path = tmp_path / "claims.json"
    path.write_text('{"x": 2.0595, "q": 1}')
    code, out, err = run("check", HEADLINE, "x=3", "y=-4", "--claims", str(path))
    assert code == 2 and "q" in err


@pytest.mark.parametrize("argv, stdin, fragment", [
    (("--claim", "x=abc"), None, "not a number"),
    (("--claim", "x"), None, "="),
    (("--claim", "x=1", "--claim", "x=2"), None, "twice"),
    (("--claims", "-"), "{x: 1}", "cannot read the claims"),
    (("--claims", "-"), "not json at all", "cannot read the claims"),
    (("--claims", "-"), '{"x": "2.05"}', "not a number"),
    (("--claims", "-"), '{"x": null}', "not a number"),
    (("--claims", "-"), '{"x": NaN}', ""),
    (("--claims", "-"), "[2.05, 1.59]", "not a JSON object"),
    (("--claims", "/nonexistent/claims.json"), None, "cannot read"),
    (("--claim", "x=2.0595", "--claims", "-"), '{"x": 2.0595}', "twice"),
])
def test_malformed_claims_exit_2_with_a_message(run, argv, stdin, fragment):
    code, out, err = run("check", HEADLINE, "x=3", "y=-4", *argv, stdin=stdin)
    assert code == 2
    assert fragment in err and err.strip()
    assert "Traceback" not in err and "internal error" not in err


def test_claims_with_samples_exit_2(run):
    code, _, err = run("check", HEADLINE, "x=3", "y=-4", "--claim", "x=2.0595", "--samples", "3", "--seed", "1")
    assert code == 2 and "samples" in err


# -- many points -----------------------------------------------------------------------------------


def test_samples_seed_is_printed_and_reproducible(run):
    argv = ("check", "sin(x) * y + x^2", "x=1", "y=2", "--samples", "6", "--seed", "42")
    code, out, _ = run(*argv)
    assert code == 0 and "seed 42" in out
    code, first = run_json(run, *argv)
    code2, second = run_json(run, *argv)
    assert code == code2 == 0
    assert first["samples"]["seed"] == 42
    assert first["samples"]["checked"] == 6 and first["samples"]["failed"] == 0
    assert first["samples"] == second["samples"]
    _, other = run_json(run, *argv[:-1], "43")
    assert other["samples"]["seed"] == 43
    assert other["samples"]["worst"]["point"] != first["samples"]["worst"]["point"]
    # around the point: x +- max(1, |x|), y +- max(1, |y|)
    assert first["samples"]["ranges"] == {"x": [0, 2], "y": [0, 4]}


def test_samples_without_a_seed_still_print_one(run):
    code, out, _ = run("check", "x^2", "x=1", "--samples", "2")
    assert code == 0 and re.search(r"seed \d+", out)
    code, data = run_json(run, "check", "x^2", "x=1", "--samples", "2")
    assert code == 0 and isinstance(data["samples"]["seed"], int)


def test_samples_api_reproducible_and_inside_the_range():
    graph = gradcli.parse("log(x) * y")
    ranges = parse_ranges(["x=-3:1", "y = 2:5"])
    assert ranges == {"x": (-3.0, 1.0), "y": (2.0, 5.0)}
    one = check_samples(graph, {"x": 0.5, "y": 3.0}, 8, seed=5, ranges=ranges)
    two = check_samples(graph, {"x": 0.5, "y": 3.0}, 8, seed=5, ranges=ranges)
    assert one.seed == 5 and one.ok
    assert len(one.results) == 8
    assert [r.evaluation.point for r in one.results] == [r.evaluation.point for r in two.results]
    assert one.skipped == two.skipped and one.skipped > 0  # x <= 0 is outside log's domain
    for r in one.results:
        assert 0 < r.evaluation.point["x"] <= 1 and 2 <= r.evaluation.point["y"] <= 5
        parts = by_input(r)
        x, y = r.evaluation.point["x"], r.evaluation.point["y"]
        assert parts["x"].reverse == pytest.approx(y / x, rel=1e-14)
        assert parts["y"].reverse == pytest.approx(math.log(x), rel=1e-14, abs=1e-300)


def test_samples_skip_points_outside_the_domain_cli(run):
    code, data = run_json(run, "check", "log(x)", "x=0.5", "--samples", "10", "--seed", "3", "--range", "x=-1:1")
    assert code == 0 and data["ok"] is True
    samples = data["samples"]
    assert samples["checked"] == 10 and samples["failed"] == 0 and samples["skipped"] > 0
    assert samples["ranges"] == {"x": [-1, 1]}
    assert 0 < samples["worst"]["point"]["x"] <= 1
    code, out, _ = run("check", "log(x)", "x=0.5", "--samples", "10", "--seed", "3", "--range", "x=-1:1")
    assert code == 0 and "skipped" in out and "seed 3" in out


def test_samples_report_a_partial_zero_everywhere(run):
    code, data = run_json(run, "check", "x + 0*y", "x=1", "y=1", "--samples", "4", "--seed", "9")
    assert code == 0
    assert data["samples"]["zero_everywhere"] == ["y"]


@pytest.mark.parametrize("bad", ["x=1", "x=a:b", "x=2:1", "x=:1", "q=0:1", "x=0:inf", "=0:1"])
def test_malformed_range_exits_2(run, bad):
    code, out, err = run("check", "x^2", "x=1", "--samples", "2", "--seed", "1", "--range", bad)
    assert code == 2 and err.strip()
    assert "Traceback" not in err and "internal error" not in err


def test_parse_ranges_rejects_reversed_bounds():
    with pytest.raises(GradcliError):
        parse_ranges(["x=2:1"])


# -- overrides -------------------------------------------------------------------------------------


def test_step_override(run):
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--step", "1e-3")
    assert code == 0
    assert data["settings"]["step"] == 1e-3
    parts = json_by_input(data)
    assert parts["x"]["step"] == representable_step(3.0, 1e-3)
    assert parts["y"]["step"] == representable_step(-4.0, 1e-3)
    code, out, _ = run("check", HEADLINE, "x=3", "y=-4", "--step", "1e-3")
    assert "step 0.001" in out
    # the central difference of x^2 is exact for any step: with h = 1/4 it is used as given
    p = check("x^2", {"x": 2.0}, settings=CheckSettings(step=0.25)).partials[0]
    assert p.method == "central" and p.step == 0.25 and p.numeric == 4.0 and p.verdict == "pass"
    p = check("x^2", {"x": 2.0}, settings=CheckSettings(method="forward", step=0.25)).partials[0]
    assert p.step == 0.25 or p.method != "forward"


def test_rtol_and_atol_override(run):
    claim = f"x={GX * (1 + 1e-3)!r}"
    code, _, _ = run("check", HEADLINE, "x=3", "y=-4", "--claim", claim)
    assert code == 1
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claim", claim, "--rtol", "1e-2")
    assert code == 0 and data["settings"]["rtol"] == 0.01
    code, data = run_json(run, "check", HEADLINE, "x=3", "y=-4", "--claim", claim, "--atol", "0.01")
    assert code == 0 and data["settings"]["atol"] == 0.01
    code, _, _ = run("check", HEADLINE, "x=3", "y=-4", "--claim", claim, "--atol", "1e-4")
    assert code == 1
    code, out, _ = run("check", HEADLINE, "x=3", "y=-4", "--rtol", "1e-5", "--atol", "1e-9")
    assert code == 0 and "rtol 1e-05" in out and "atol 1e-09" in out
    # the same through the API
    loose = check(HEADLINE, POINT, settings=CheckSettings(rtol=1e-2), claims={"x": GX * (1 + 1e-3)})
    assert loose.ok
    tight = check(HEADLINE, POINT, settings=CheckSettings(rtol=1e-4), claims={"x": GX * (1 + 1e-3)})
    assert not tight.ok


def test_unknown_method_in_the_api():
    with pytest.raises(ValueError):
        check("x", {"x": 1.0}, settings=CheckSettings(method="secant"))
