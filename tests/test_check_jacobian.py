"""gradcli check with several outputs (every Jacobian entry) and --order 2 (every Hessian entry).

Expected derivatives are closed forms written out here, never gradcli's own
numbers. Layers:

- Jacobian entries of `out u, v` programs: values, names, claims (u/x=...),
  a wrong claim and a wrong op rule are caught, entry by entry;
- Hessians against closed forms, with every method but the complex step;
- a partial rule that loses its dual tangent (right gradient, wrong Hessian)
  is caught at order 2, by input and by node (--nodes);
- kinks at order 2 are not false alarms, and a wrong claim at a kink still fails;
- --samples with several outputs and at order 2; strict JSON; exit codes.
"""

from __future__ import annotations

import json
import math

import pytest

import gradcli.ops
import gradcli.parser
from gradcli.check import CheckSettings, check
from gradcli.dual import value_of
from gradcli.evaluation import evaluate
from gradcli.localise import check_nodes
from gradcli.ops import SCALAR
from gradcli.sampling import check_samples
from test_check import run, run_json, strict_json  # noqa: F401 - `run` is a fixture: the same CLI runner


TWO_OUTPUTS = "u = x*y; v = x + sin(y); out u, v"
X, Y = 1.0, 2.0
# d(u, v)/d(x, y) of u = x y, v = x + sin y
JACOBIAN = {"u/x": Y, "u/y": X, "v/x": 1.0, "v/y": math.cos(Y)}
# Their Hessians: u has d²u/dx dy = 1; v has d²v/dy² = -sin y
HESSIANS_TWO = {"u/x,x": 0.0, "u/x,y": 1.0, "u/y,x": 1.0, "u/y,y": 0.0,
                "v/x,x": 0.0, "v/x,y": 0.0, "v/y,x": 0.0, "v/y,y": -math.sin(Y)}
NEW_PARTIAL_KEYS = {"output", "wrt", "name", "key"}
OLD_PARTIAL_KEYS = {"input", "at", "reverse", "claimed", "numeric", "abs_error", "rel_error", "step",
                    "error_estimate", "verdict", "method", "notes", "kink", "tested"}


def by_key(result) -> dict:
    return {p.key: p for p in result.partials}


# -- several outputs: every Jacobian entry ---------------------------------------------------------


def test_every_jacobian_entry_is_checked_against_the_closed_form():
    result = check(TWO_OUTPUTS, {"x": X, "y": Y})
    entries = by_key(result)
    assert list(entries) == ["u/x", "u/y", "v/x", "v/y"]  # output by output, inputs in order
    for key, expected in JACOBIAN.items():
        p = entries[key]
        assert p.reverse == pytest.approx(expected, rel=1e-15, abs=1e-15), key
        assert p.numeric == pytest.approx(expected, rel=1e-8, abs=1e-12), key
        assert p.verdict == "pass", key
    assert [(p.output, p.input, p.name) for p in result.partials] == [
        ("u", "x", "du/dx"), ("u", "y", "du/dy"), ("v", "x", "dv/dx"), ("v", "y", "dv/dy")]
    assert result.ok and result.order == 1


def test_a_forward_mode_sized_program_is_checked_with_every_output():
    # More outputs than inputs: eval would pick forward mode; the checker still checks each row.
    program = "a = x^2; b = 3*x; c = exp(x); out a, b, c"
    result = check(program, {"x": 0.5})
    assert [p.name for p in result.partials] == ["da/dx", "db/dx", "dc/dx"]
    expected = [2 * 0.5, 3.0, math.exp(0.5)]
    assert [p.reverse for p in result.partials] == pytest.approx(expected, rel=1e-15)
    assert all(p.verdict == "pass" for p in result.partials)


@pytest.mark.parametrize("key", list(JACOBIAN))
def test_a_wrong_claim_for_one_jacobian_entry_fails_that_entry_only(key):
    claims = dict(JACOBIAN)
    claims[key] = JACOBIAN[key] * (1 + 1e-5) + 1e-5  # full precision: no digits tolerance
    result = check(TWO_OUTPUTS, {"x": X, "y": Y}, claims=claims)
    verdicts = {p.key: p.verdict for p in result.partials}
    assert verdicts == {k: "fail" if k == key else "pass" for k in JACOBIAN}
    assert not result.ok


def test_correct_claims_for_every_entry_pass_on_the_command_line(run):
    claims = [f"--claim={k}={v!r}" for k, v in JACOBIAN.items()]
    code, out, _ = run("check", TWO_OUTPUTS, "x=1", "y=2", *claims)
    assert code == 0, out
    assert "du/dx" in out and "dv/dy" in out and "ok: 4 of 4 partials agree" in out


def test_a_wrong_claim_fails_on_the_command_line(run):
    code, out, _ = run("check", TWO_OUTPUTS, "x=1", "y=2", "--claim", "v/y=0.5")
    assert code == 1
    assert "FAIL" in out and "wrong: dv/dy" in out


def test_claims_in_a_json_file_name_entries_the_same_way(run, tmp_path):
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({"u/x": 2.0, "v/y": 0.25}))
    code, data = run_json(run, "check", TWO_OUTPUTS, "x=1", "y=2", "--claims", str(path))
    assert code == 1
    claimed = {p["key"]: (p["claimed"], p["verdict"]) for p in data["partials"]}
    assert claimed == {"u/x": (2, "pass"), "u/y": (None, "pass"), "v/x": (None, "pass"), "v/y": (0.25, "fail")}


@pytest.mark.parametrize("claim, hint", [
    ("x=2", "OUTPUT/INPUT"),       # which output? with several, a claim must say
    ("w/x=2", "outputs: u, v"),    # no such output
    ("u/z=2", "inputs: x, y"),     # no such input
    ("u/x,y=2", "OUTPUT/INPUT"),   # a second derivative at order 1
])
def test_claims_naming_no_entry_are_refused(run, claim, hint):
    code, out, err = run("check", TWO_OUTPUTS, "x=1", "y=2", "--claim", claim)
    assert code == 2 and out == ""
    assert "claims for entries the program does not have" in err and hint in err
    assert "Traceback" not in err


@pytest.mark.parametrize("claim", ["u/x,y,z=1", "/x=1", "u/x=abc", "u/1x=2", "u/x="])
def test_unreadable_entry_claims_are_refused(run, claim):
    code, data = run_json(run, "check", TWO_OUTPUTS, "x=1", "y=2", "--claim", claim)
    assert code == 2
    assert "cannot read the claim" in data["error"]["message"] and data["error"]["hint"]


def test_an_output_whose_label_is_an_expression_takes_claims_by_its_text():
    result = check("out x/y, x*y", {"x": 3.0, "y": 2.0}, claims={"x/y/y": -3.0 / 4.0, "x*y/x": 2.0})
    entries = by_key(result)
    assert entries["x/y/y"].claimed == -0.75 and entries["x/y/y"].verdict == "pass"
    assert entries["x*y/x"].claimed == 2.0 and entries["x*y/x"].verdict == "pass"
    assert entries["x/y/x"].name == "d(x/y)/dx"


# -- a wrong op rule -------------------------------------------------------------------------------


def _patch(monkeypatch, name: str, rule):
    op = gradcli.ops.OPS[name]
    wrong = op._replace(partials=rule)
    # The parser builds nodes from OPS and validates calls through FUNCTIONS: patch both.
    monkeypatch.setitem(gradcli.ops.OPS, name, wrong)
    monkeypatch.setitem(gradcli.ops.FUNCTIONS, name, wrong)
    assert gradcli.parser.OPS[name] is wrong
    return wrong


def test_a_wrong_sin_rule_fails_only_the_entries_through_sin(monkeypatch):
    _patch(monkeypatch, "sin", lambda a, out, m=SCALAR: (-m.cos(a[0]),))
    result = check(TWO_OUTPUTS, {"x": X, "y": Y})
    verdicts = {p.key: p.verdict for p in result.partials}
    assert verdicts == {"u/x": "pass", "u/y": "pass", "v/x": "pass", "v/y": "fail"}
    assert by_key(result)["v/y"].numeric == pytest.approx(math.cos(Y), rel=1e-8)


def test_nodes_cover_every_output_not_only_the_first(monkeypatch, run):
    _patch(monkeypatch, "sin", lambda a, out, m=SCALAR: (-m.cos(a[0]),))
    evaluation = evaluate(TWO_OUTPUTS, {"x": X, "y": Y}, mode="reverse")
    nodes = check_nodes(evaluation)
    # sin(y) feeds only v, the second output: it must still be checked, and fail.
    assert [(n.op, n.verdict) for n in nodes if not n.ok] == [("sin", "fail")]
    assert {n.op for n in nodes} == {"mul", "sin", "add"}
    code, data = run_json(run, "check", TWO_OUTPUTS, "x=1", "y=2", "--nodes")
    assert code == 1 and [n["op"] for n in data["nodes"] if n["verdict"] == "fail"] == ["sin"]


# -- order 2: Hessians -----------------------------------------------------------------------------


def _closed_hessian(program: str, point: dict, hessian) -> dict:
    names = list(point)
    return {f"{a},{b}": hessian(**point)[i][j] for i, a in enumerate(names) for j, b in enumerate(names)}


HESSIAN_CASES = {
    # program: (point, closed-form Hessian)
    "x^2*y + y^3": ({"x": 1.0, "y": 2.0}, lambda x, y: [[2 * y, 2 * x], [2 * x, 6 * y]]),
    "exp(x*y)": ({"x": 0.3, "y": -0.7}, lambda x, y: [
        [y * y * math.exp(x * y), (1 + x * y) * math.exp(x * y)],
        [(1 + x * y) * math.exp(x * y), x * x * math.exp(x * y)]]),
    "sin(x)*cos(y)": ({"x": 0.4, "y": 1.1}, lambda x, y: [
        [-math.sin(x) * math.cos(y), -math.cos(x) * math.sin(y)],
        [-math.cos(x) * math.sin(y), -math.sin(x) * math.cos(y)]]),
    "log(x)*y^2": ({"x": 2.5, "y": -1.5}, lambda x, y: [[-y * y / (x * x), 2 * y / x], [2 * y / x, 2 * math.log(x)]]),
    "x/y": ({"x": 3.0, "y": 2.0}, lambda x, y: [[0.0, -1 / (y * y)], [-1 / (y * y), 2 * x / y**3]]),
    "sqrt(x^2 + y^2)": ({"x": 3.0, "y": 4.0}, lambda x, y: [
        [y * y / 125, -x * y / 125], [-x * y / 125, x * x / 125]]),
    "tanh(x)": ({"x": 0.8}, lambda x: [[-2 * math.tanh(x) * (1 - math.tanh(x) ** 2)]]),
    "sigmoid(x)": ({"x": -1.3}, lambda x: [[(s := 1 / (1 + math.exp(-x))) * (1 - s) * (1 - 2 * s)]]),
}


@pytest.mark.parametrize("program", list(HESSIAN_CASES))
@pytest.mark.parametrize("method", ["central", "forward", "richardson"])
def test_closed_form_hessians_pass(program, method):
    point, hessian = HESSIAN_CASES[program]
    result = check(program, point, order=2, settings=CheckSettings(method=method))
    expected = _closed_hessian(program, point, hessian)
    assert [p.key for p in result.partials] == list(expected)  # every entry, both triangles
    for p in result.partials:
        assert p.reverse == pytest.approx(expected[p.key], rel=1e-12, abs=1e-14), (program, p.key)
        assert p.verdict == "pass", (program, method, p.key, p.numeric, p.notes)
        assert p.method != "complex"  # escalation skips the complex step at order 2
    assert result.ok and result.order == 2


def test_every_output_has_its_hessian_checked():
    result = check(TWO_OUTPUTS, {"x": X, "y": Y}, order=2)
    entries = by_key(result)
    assert list(entries) == list(HESSIANS_TWO)
    for key, expected in HESSIANS_TWO.items():
        assert entries[key].reverse == pytest.approx(expected, rel=1e-15, abs=1e-15), key
        assert entries[key].verdict == "pass", key
    assert entries["v/y,y"].name == "d²v/dy²" and entries["u/x,y"].name == "d²u/dx dy"
    assert [h.output for h in result.hessians] == ["u", "v"]


def test_a_wrong_hessian_claim_fails_both_symmetric_entries():
    point, hessian = HESSIAN_CASES["x^2*y + y^3"]
    result = check("x^2*y + y^3", point, order=2, claims={"x,y": 2.5, "y,y": 12.0})
    verdicts = {p.key: (p.claimed, p.verdict) for p in result.partials}
    # x,y serves y,x too (the Hessian is symmetric); y,y = 6y = 12 is right.
    assert verdicts == {"x,x": (None, "pass"), "x,y": (2.5, "fail"), "y,x": (2.5, "fail"), "y,y": (12.0, "pass")}


def test_hessian_claims_on_the_command_line(run):
    code, out, _ = run("check", TWO_OUTPUTS, "x=1", "y=2", "--order", "2",
                       "--claim", "u/x,y=1", "--claim", f"v/y,y={-math.sin(Y)!r}")
    assert code == 0, out
    code, out, _ = run("check", TWO_OUTPUTS, "x=1", "y=2", "--order", "2", "--claim", "v/y,y=0.9")
    assert code == 1 and "wrong: d²v/dy²" in out
    code, _, err = run("check", TWO_OUTPUTS, "x=1", "y=2", "--order", "2", "--claim", "u/x=2")
    assert code == 2 and "OUTPUT/INPUT,INPUT" in err


def _tangent_dropping_sin(monkeypatch):
    # The right partial, cos(x), but computed from the argument's value alone: on dual numbers
    # its own derivative is lost, so forward-over-reverse gives d²sin/dx² = 0. The gradient is
    # still right; only a second-order check can see this.
    return _patch(monkeypatch, "sin", lambda a, out, m=SCALAR: (m.cos(value_of(a[0])),))


def test_a_rule_that_drops_its_tangent_passes_order_1_and_fails_order_2(monkeypatch):
    _tangent_dropping_sin(monkeypatch)
    point = {"x": 0.7, "y": 1.3}
    assert check("sin(x)*y", point).ok  # first order cannot tell
    result = check("sin(x)*y", point, order=2)
    entries = by_key(result)
    assert entries["x,x"].verdict == "fail"
    assert entries["x,x"].numeric == pytest.approx(-math.sin(0.7) * 1.3, rel=1e-7)
    assert entries["x,x"].reverse == 0.0
    assert {k: p.verdict for k, p in entries.items() if k != "x,x"} == {"x,y": "pass", "y,x": "pass", "y,y": "pass"}


def test_order_2_nodes_name_the_rule_that_drops_its_tangent(monkeypatch, run):
    _tangent_dropping_sin(monkeypatch)
    evaluation = evaluate("sin(x)*y + x^2", {"x": 0.7, "y": 1.3}, mode="reverse")
    nodes = check_nodes(evaluation, order=2)
    failing = [(n.op, n.argument, n.partial, n.verdict) for n in nodes if not n.ok]
    assert failing == [("sin", 0, 0, "fail")]
    sin_check = next(n for n in nodes if n.op == "sin")
    assert sin_check.numeric == pytest.approx(-math.sin(0.7), rel=1e-8)
    code, out, _ = run("check", "sin(x)*y + x^2", "x=0.7", "y=1.3", "--order", "2", "--nodes")
    out = " ".join(out.split())  # the summary line wraps at the console's width
    assert code == 1 and "wrong: node 1 (sin)" in out and "d²/dx²" in out


def test_order_2_nodes_pass_on_a_correct_op_table():
    evaluation = evaluate("sin(x*y) + exp(x)/y - log(y)*x^3 + sigmoid(x - y)", {"x": 0.6, "y": 1.7},
                          mode="reverse")
    nodes = check_nodes(evaluation, order=2)
    assert nodes and all(n.verdict == "pass" for n in nodes), [(n.op, n.verdict, n.tested, n.numeric) for n in nodes]
    # x*y: d/dx of the partial d/dy is 1, and d/dx of d/dx is 0
    product = evaluation.graph.nodes[[n.node for n in nodes if n.op == "mul"][0]]
    assert evaluation.graph.text(product) == "x*y"
    assert sorted(n.tested for n in nodes if n.node == product.id) == [0.0, 0.0, 1.0, 1.0]


# -- kinks at order 2 ------------------------------------------------------------------------------


@pytest.mark.parametrize("program, point", [
    ("x*abs(x)", {"x": 0.0}),            # gradient 2|x|: one-sided second derivatives -2 and 2
    ("relu(x)*y", {"x": 0.0, "y": 3.0}),  # the gradient in x jumps from 0 to y
    ("max(x, y)*x", {"x": 1.0, "y": 1.0}),  # at the tie the gradient jumps (1, 1.5, 2): no Hessian exists
    ("min(x, 2)*y", {"x": 2.0, "y": 0.5}),
])
def test_kinks_at_order_2_are_not_false_alarms(program, point):
    result = check(program, point, order=2)
    assert result.ok, [(p.key, p.verdict, p.tested, p.numeric) for p in result.partials]
    assert any(p.verdict == "kink" for p in result.partials)


def test_a_jump_in_the_gradient_is_reported_as_such(run):
    result = check("relu(x)*y", {"x": 0.0, "y": 3.0}, order=2)
    xx = by_key(result)["x,x"]
    assert xx.verdict == "kink" and xx.numeric is None
    assert xx.kink.jump == pytest.approx(3.0, rel=1e-6)  # d/dx of relu(x)*y jumps from 0 to y
    assert any("jumps by 3" in note for note in xx.notes)
    # smooth along y: no jump, and the one-sided slopes 0 and 1 bracket gradcli's 0
    yx = by_key(result)["y,x"]
    assert yx.kink.jump is None and yx.kink.left == 0.0 and yx.kink.right == pytest.approx(1.0, rel=1e-6)


def test_a_smooth_function_written_through_a_kink_is_judged_by_its_closed_form():
    # abs(x - y)^2 + x*y is (x - y)^2 + x*y, smooth at x = y: H = [[2, -1], [-1, 2]].
    # Whatever gradcli computes there, the check must agree with the closed form:
    # numeric equal to it, and a pass exactly when gradcli's entry equals it too.
    result = check("abs(x - y)^2 + x*y", {"x": 0.5, "y": 0.5}, order=2)
    expected = {"x,x": 2.0, "x,y": -1.0, "y,x": -1.0, "y,y": 2.0}
    for p in result.partials:
        assert p.numeric == pytest.approx(expected[p.key], rel=1e-6), p.key
        assert p.ok == (p.reverse == pytest.approx(expected[p.key], rel=1e-9)), (p.key, p.reverse, p.verdict)


def test_a_kink_just_outside_the_step_is_stepped_around():
    # x*abs(x) at 1e-7: smooth here (d²/dx² = 2), the kink at 0 lies within the default step.
    result = check("x*abs(x)", {"x": 1e-7}, order=2)
    (p,) = result.partials
    assert p.verdict == "pass" and p.reverse == 2.0
    assert p.numeric == pytest.approx(2.0, rel=1e-6)


def test_a_wrong_claim_at_a_kink_still_fails():
    # Any value in [-2, 2] is a one-sided limit of d²(x|x|)/dx² at 0; 5 is none.
    result = check("x*abs(x)", {"x": 0.0}, order=2, claims={"x,x": 5.0})
    (p,) = result.partials
    assert p.verdict == "fail" and p.kink is not None
    assert p.kink.left == pytest.approx(-2.0, rel=1e-6) and p.kink.right == pytest.approx(2.0, rel=1e-6)


def test_a_relu_kink_is_reported_as_one_in_json(run):
    code, data = run_json(run, "check", "relu(x)*y", "x=0", "y=3", "--order", "2")
    assert code == 0 and data["ok"] is True
    entry = next(p for p in data["partials"] if p["key"] == "y,x")
    assert entry["verdict"] == "kink" and entry["kink"]["left"] == 0
    assert entry["kink"]["right"] == pytest.approx(1.0, rel=1e-6)


# -- samples ---------------------------------------------------------------------------------------


def test_samples_check_every_output_and_every_hessian():
    graph = gradcli.parser.parse(TWO_OUTPUTS)
    for order, entries in ((1, 4), (2, 8)):
        report = check_samples(graph, {"x": X, "y": Y}, 6, 3, settings=CheckSettings(), order=order)
        assert report.ok and len(report.results) == 6
        assert all(len(r.partials) == entries and r.order == order for r in report.results)
    # d²u/dx² and d²u/dy² (u = x y), and d²v/dx², d²v/dx dy, d²v/dy dx vanish everywhere
    assert report.zero_everywhere() == ["d²u/dx²", "d²u/dy²", "d²v/dx²", "d²v/dx dy", "d²v/dy dx"]


def test_samples_at_order_2_catch_the_dropped_tangent(monkeypatch, run):
    _tangent_dropping_sin(monkeypatch)
    code, data = run_json(run, "check", "sin(x)", "x=0.5", "--order", "2",
                          "--samples", "5", "--seed", "11", "--range", "x=0.2:1.5")
    assert code == 1 and data["samples"]["failed"] == 5
    assert data["samples"]["worst"]["partials"][0]["name"] == "d²f/dx²"


# -- JSON and the command line ---------------------------------------------------------------------


def test_json_has_the_new_keys_and_keeps_the_old_ones(run):
    code, data = run_json(run, "check", TWO_OUTPUTS, "x=1", "y=2")
    assert code == 0 and data["ok"] is True and data["order"] == 1
    assert data["value"] == 2  # the first output, as before
    assert data["outputs"] == [{"label": "u", "node": data["outputs"][0]["node"], "value": 2},
                               {"label": "v", "node": data["outputs"][1]["node"], "value": 1 + math.sin(2)}]
    assert "hessians" not in data
    for p in data["partials"]:
        assert set(p) == OLD_PARTIAL_KEYS | NEW_PARTIAL_KEYS
        assert p["wrt"] is None
    assert [(p["output"], p["input"], p["name"], p["key"]) for p in data["partials"]] == [
        ("u", "x", "du/dx", "u/x"), ("u", "y", "du/dy", "u/y"), ("v", "x", "dv/dx", "v/x"), ("v", "y", "dv/dy", "v/y")]
    assert data["counts"]["pass"] == 4


def test_json_at_order_2(run):
    code, out, _ = run("check", "x^2*y + y^3", "x=1", "y=2", "--order", "2", "--json", "--nodes")
    data = strict_json(out)
    assert code == 0 and data["order"] == 2
    assert [(p["input"], p["wrt"], p["key"], p["reverse"]) for p in data["partials"]] == [
        ("x", "x", "x,x", 4), ("x", "y", "x,y", 2), ("y", "x", "y,x", 2), ("y", "y", "y,y", 12)]
    assert [p["at"] for p in data["partials"]] == [1, 2, 1, 2]  # the value of the input moved
    assert data["hessians"] == [{"output": "x^2*y + y^3", "asymmetry": 0, "symmetric": True}]
    assert all(n["partial"] is not None for n in data["nodes"])
    assert "d²f/dx dy" in out  # not escaped: the JSON is UTF-8


def test_single_output_first_order_is_unchanged(run):
    code, data = run_json(run, "check", "x*y", "x=2", "y=3")
    assert code == 0 and data["order"] == 1
    assert [(p["input"], p["name"], p["key"], p["output"]) for p in data["partials"]] == [
        ("x", "x", "x", "x*y"), ("y", "y", "y", "x*y")]
    code, out, _ = run("check", "x*y", "x=2", "y=3")
    assert "┃ input" in out and "ok: 2 of 2 partials agree" in out


@pytest.mark.parametrize("argv, message", [
    (["--order", "2", "--method", "complex"], "complex step does not apply at order 2"),
    (["--order", "3"], "--order"),
    (["--order", "0"], "--order"),
])
def test_bad_options_exit_2_without_a_traceback(run, argv, message):
    code, out, err = run("check", "x^2*y", "x=1", "y=2", *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_order_2_refuses_the_complex_step_in_json(run):
    code, data = run_json(run, "check", "x^2", "x=1", "--order", "2", "--method", "complex")
    assert code == 2 and "richardson" in data["error"]["hint"]


def test_the_human_table_names_each_entry(run):
    code, out, _ = run("check", TWO_OUTPUTS, "x=1", "y=2", "--order", "2")
    assert code == 0
    for name in ("d²u/dx²", "d²u/dx dy", "d²v/dy²"):
        assert name in out
    assert "values    u = 2, v = " in out and "order 2" in out
    assert "ok: 8 of 8 second derivatives agree" in out
