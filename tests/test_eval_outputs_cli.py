"""`gradcli eval` with several outputs, --mode auto, --hessian, --direction and --cotangent.

Through gradcli.cli.main in-process (stdout, stderr and the exit code apart).
Expected numbers are closed forms computed here with `math`, never gradcli's
own output.
"""

from __future__ import annotations

import io
import json
import math
import sys

import pytest
from test_cli import strict_json

from gradcli.cli import main

TWO_OUTPUTS = "u = x*y; v = x + sin(y); out u, v"
X, Y = 1.0, 2.0
# d(u, v)/d(x, y) for u = x y, v = x + sin y
JACOBIAN = {"u": {"x": Y, "y": X}, "v": {"x": 1.0, "y": math.cos(Y)}}


@pytest.fixture
def run(capsys, monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*argv, stdin: str | None = None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def eval_json(run, *argv):
    code, out, err = run("eval", *argv, "--json")
    assert code == 0, err
    return strict_json(out)


# -- several outputs: the Jacobian, and the mode auto picks ------------------------------


@pytest.mark.parametrize("mode", ["auto", "reverse", "forward"])
def test_jacobian_of_two_outputs_in_every_mode(run, mode):
    data = eval_json(run, TWO_OUTPUTS, f"x={X}", f"y={Y}", "--mode", mode)
    assert list(data["jacobian"]) == ["u", "v"]
    for output, row in JACOBIAN.items():
        assert data["jacobian"][output] == {name: pytest.approx(value, rel=1e-15) for name, value in row.items()}
    assert [o["label"] for o in data["outputs"]] == ["u", "v"]
    assert data["outputs"][0]["value"] == X * Y
    assert data["outputs"][1]["value"] == pytest.approx(X + math.sin(Y), rel=1e-15)
    assert data["value"] is None and data["gradient"] is None  # several outputs: see "outputs"
    assert data["requested_mode"] == mode
    expected_mode = "reverse" if mode == "auto" else mode  # 2 outputs do not outnumber 2 inputs
    assert data["mode"] == expected_mode
    assert data["sweeps"] == 2


def test_auto_takes_forward_mode_when_outputs_outnumber_inputs(run):
    data = eval_json(run, "out x, 2*x, x^2, sin(x)", "x=0.5")
    assert data["mode"] == "forward" and data["sweeps"] == 1  # one input: one tangent sweep
    column = [data["jacobian"][label]["x"] for label in ("x", "2*x", "x^2", "sin(x)")]
    assert column == [1, 2, 1, pytest.approx(math.cos(0.5), rel=1e-15)]
    forced = eval_json(run, "out x, 2*x, x^2, sin(x)", "x=0.5", "--mode", "reverse")
    assert forced["mode"] == "reverse" and forced["sweeps"] == 4
    assert forced["jacobian"] == data["jacobian"]


def test_auto_takes_reverse_mode_for_one_output_and_many_inputs(run):
    data = eval_json(run, "a*b*c + d", "a=1", "b=2", "c=3", "d=4")
    assert data["mode"] == "reverse" and data["sweeps"] == 1
    assert data["gradient"] == {"a": 6, "b": 3, "c": 2, "d": 1}
    assert data["jacobian"] == {"a*b*c + d": data["gradient"]}


def test_table_says_which_mode_and_why(run):
    code, out, _ = run("eval", "out x, 2*x, x^2", "x=3")
    assert code == 0
    assert "forward mode: 1 tangent sweep, one per input" in out
    assert "chosen: 3 outputs, 1 input; reverse mode would take 3" in out
    code, out, _ = run("eval", TWO_OUTPUTS, "x=1", "y=2")
    assert "reverse mode: 2 backward sweeps, one per output" in out
    assert "Jacobian" in out and "adjoint du/d(node)" in out and "adjoint dv/d(node)" in out


def test_per_node_adjoints_per_output_in_json(run):
    data = eval_json(run, TWO_OUTPUTS, "x=1", "y=2")
    by_name = {node["name"] or node["text"]: node for node in data["nodes"]}
    # d(output)/d(node) for each output: u does not depend on sin(y) and v not on u.
    assert by_name["sin(y)"]["adjoints"] == {"u": 0, "v": 1}
    assert by_name["u"]["adjoints"] == {"u": 1, "v": 0}
    assert by_name["x"]["adjoints"] == {"u": JACOBIAN["u"]["x"], "v": JACOBIAN["v"]["x"]}


def test_forward_mode_shows_a_tangent_per_input(run):
    data = eval_json(run, TWO_OUTPUTS, "x=1", "y=2", "--mode", "forward")
    sine = next(node for node in data["nodes"] if node["text"] == "sin(y)")
    assert sine["tangent"] == {"x": 0, "y": pytest.approx(math.cos(2.0), rel=1e-15)}
    assert sine["adjoint"] is None


# -- second derivatives -------------------------------------------------------------------


def test_hessian_of_a_polynomial(run):
    # f = x^2 y + y^3: f_xx = 2y, f_xy = 2x, f_yy = 6y
    data = eval_json(run, "x^2*y + y^3", "x=1", "y=2", "--hessian")
    assert data["hessian"] == {"x^2*y + y^3": {"x": {"x": 4, "y": 2}, "y": {"x": 2, "y": 12}}}
    assert data["hessian_asymmetry"] == {"x^2*y + y^3": 0}
    assert data["hessian_sweeps"] == 2
    assert data["gradient"] == {"x": 4, "y": 13}


def test_hessian_of_each_output(run):
    data = eval_json(run, TWO_OUTPUTS, "x=1", "y=2", "--hessian")
    assert data["hessian"]["u"] == {"x": {"x": 0, "y": 1}, "y": {"x": 1, "y": 0}}
    assert data["hessian"]["v"]["y"]["y"] == pytest.approx(-math.sin(2.0), rel=1e-15)
    assert data["hessian"]["v"]["x"] == {"x": 0, "y": 0}


def test_hessian_of_transcendental_functions_against_closed_forms(run):
    # f = exp(x) sin(y): f_xx = e^x sin y, f_xy = e^x cos y, f_yy = -e^x sin y
    x, y = 0.3, 1.1
    data = eval_json(run, "exp(x)*sin(y)", f"x={x}", f"y={y}", "--hessian")
    h = data["hessian"]["exp(x)*sin(y)"]
    ex = math.exp(x)
    assert h["x"]["x"] == pytest.approx(ex * math.sin(y), rel=1e-14)
    assert h["x"]["y"] == h["y"]["x"] == pytest.approx(ex * math.cos(y), rel=1e-14)
    assert h["y"]["y"] == pytest.approx(-ex * math.sin(y), rel=1e-14)


def test_hessian_table(run):
    code, out, err = run("eval", "x^2*y + y^3", "x=1", "y=2", "--hessian")
    assert code == 0, err
    assert "Hessian: d²(output)/d(row) d(column)" in out
    assert "forward over reverse: 2 sweeps, one per input; symmetric to rounding" in out


def test_hessian_vector_product(run):
    # H v for f = x^2 y + y^3, v = (1, 0.5): (4 + 1, 2 + 6) = (5, 8)
    data = eval_json(run, "x^2*y + y^3", "x=1", "y=2", "--hessian", "--direction", "x=1,y=0.5")
    assert data["hessian_vector_products"] == {"x^2*y + y^3": {"x": 5, "y": 8}}
    assert "hessian" not in data


# -- products without the Jacobian --------------------------------------------------------


def test_directional_derivative(run):
    data = eval_json(run, TWO_OUTPUTS, "x=1", "y=2", "--direction", "x=1,y=0.5")
    assert data["jacobian"] is None and data["mode"] == "forward" and data["sweeps"] == 1
    assert data["direction"] == {"x": 1, "y": 0.5}
    assert data["jvp"]["u"] == Y * 1 + X * 0.5
    assert data["jvp"]["v"] == pytest.approx(1 + math.cos(Y) * 0.5, rel=1e-15)


def test_inputs_left_out_of_the_direction_weigh_zero(run):
    data = eval_json(run, TWO_OUTPUTS, "x=1", "y=2", "--direction", "y=1")
    assert data["direction"] == {"x": 0, "y": 1}
    assert data["jvp"] == {"u": X, "v": pytest.approx(math.cos(Y), rel=1e-15)}


def test_vector_jacobian_product(run):
    data = eval_json(run, TWO_OUTPUTS, "x=1", "y=2", "--cotangent", "u=1,v=2")
    assert data["jacobian"] is None and data["mode"] == "reverse" and data["sweeps"] == 1
    assert data["vjp"]["x"] == 1 * Y + 2 * 1
    assert data["vjp"]["y"] == pytest.approx(1 * X + 2 * math.cos(Y), rel=1e-15)
    u_node = next(node for node in data["nodes"] if node["name"] == "u")
    assert u_node["cotangent_adjoint"] == 1


def test_cotangent_names_an_output_whatever_its_spacing(run):
    data = eval_json(run, "out x * y, max(x, y)", "x=1", "y=2", "--cotangent", "x*y=2, max(x,y)=1")
    assert data["cotangent"] == {"x * y": 2, "max(x, y)": 1}
    assert data["vjp"] == {"x": 2 * 2, "y": 2 * 1 + 1}


def test_bare_number_cotangent_weighs_the_one_output(run):
    data = eval_json(run, "x^2*y", "x=1", "y=2", "--cotangent", "3")
    assert data["vjp"] == {"x": 3 * 2 * 1 * 2, "y": 3 * 1}


def test_direction_and_cotangent_together(run):
    data = eval_json(run, TWO_OUTPUTS, "x=1", "y=2", "--direction", "x=1", "--cotangent", "v=1")
    assert data["mode"] == "forward+reverse" and data["sweeps"] == 2
    assert data["jvp"] == {"u": Y, "v": 1}
    assert data["vjp"] == {"x": 1, "y": pytest.approx(math.cos(Y), rel=1e-15)}


# -- the `out` statement and errors --------------------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["x + y", "x=1", "y=2", "--direction", "z=1"], "--direction z: the program has no input named z"),
        (["x + y", "x=1", "y=2", "--direction", "x=1,x=2"], "x is given twice"),
        (["x + y", "x=1", "y=2", "--direction", "x"], "each part must be NAME=NUMBER"),
        (["x + y", "x=1", "y=2", "--direction", "x=nan"], "not a finite number"),
        ([TWO_OUTPUTS, "x=1", "y=2", "--cotangent", "w=1"], "the program has no output named w"),
        ([TWO_OUTPUTS, "x=1", "y=2", "--cotangent", "2"], "a single number weighs a program's one output"),
        (["x", "x=1", "--cotangent", "two"], "cannot read --cotangent 'two'"),
        (["out x, y; z = 1", "x=1", "y=2"], "a statement after `out`"),
        (["out x, x", "x=1"], "the output `x` is listed twice"),
    ],
)
def test_bad_products_and_outputs_exit_2_with_a_message(run, argv, message):
    code, out, err = run("eval", *argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_a_statement_after_out_is_marked_with_a_caret(run):
    code, _, err = run("eval", "out x, y\nz = x", "x=1", "y=2")
    assert code == 2
    lines = err.splitlines()
    caret_line = next(line for line in lines if "^" in line)
    assert caret_line.index("^") == lines[lines.index(caret_line) - 1].index("z")


def test_out_is_still_a_variable_name(run):
    data = eval_json(run, "out = x + 1; y = out * 2", "x=1")
    assert data["value"] == 4 and data["gradient"] == {"x": 2}
    data = eval_json(run, "out (-x), x^2", "x=3")
    assert data["jacobian"] == {"(-x)": {"x": -1}, "x^2": {"x": 6}}


@pytest.mark.parametrize("flag", [["--hessian"], ["--direction", "x=1"], ["--cotangent", "1"]])
def test_products_do_not_go_with_points(run, tmp_path, flag):
    points = tmp_path / "p.csv"
    points.write_text("x\n1\n")
    code, out, err = run("eval", "x^2", "--points", points, *flag)
    assert code == 2 and out == ""
    assert "does not go with --points" in err


def polar_rows(r_t):
    """(x, dx/dr, dx/dt, y, dy/dr, dy/dt) of x = r cos t, y = r sin t: the closed form."""
    r, t = r_t
    return [r * math.cos(t), math.cos(t), -r * math.sin(t), r * math.sin(t), math.sin(t), r * math.cos(t)]


POLAR = "x = r * cos(t); y = r * sin(t); out x, y"
POLAR_POINTS = [(2.0, 0.5), (1.0, -1.25), (-3.0, 3.0)]


def test_points_with_several_outputs_as_csv(run, tmp_path):
    points = tmp_path / "p.csv"
    points.write_text("r,t\n" + "".join(f"{r!r},{t!r}\n" for r, t in POLAR_POINTS))
    code, out, err = run("eval", POLAR, "--points", points)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "r,t,x,dx/dr,dx/dt,y,dy/dr,dy/dt"
    for line, point in zip(lines[1:], POLAR_POINTS):
        numbers = [float(field) for field in line.split(",")]
        assert numbers[:2] == list(point)
        assert numbers[2:] == pytest.approx(polar_rows(point), rel=1e-15, abs=1e-15)


def test_points_with_several_outputs_as_json_lines(run, tmp_path):
    points = tmp_path / "p.jsonl"
    points.write_text("".join(json.dumps({"r": r, "t": t}) + "\n" for r, t in POLAR_POINTS))
    code, out, err = run("eval", POLAR, "--points", points)
    assert code == 0, err
    records = [strict_json(line) for line in out.splitlines()]
    for record, point in zip(records, POLAR_POINTS):
        x, dxdr, dxdt, y, dydr, dydt = polar_rows(point)
        assert set(record) == {"line", "point", "values", "jacobian"}
        assert record["values"] == {"x": pytest.approx(x, rel=1e-15), "y": pytest.approx(y, rel=1e-15)}
        assert record["jacobian"]["x"] == {"r": pytest.approx(dxdr, rel=1e-15), "t": pytest.approx(dxdt, rel=1e-15)}
        assert record["jacobian"]["y"] == {"r": pytest.approx(dydr, rel=1e-15), "t": pytest.approx(dydt, rel=1e-15)}


def test_points_with_outputs_written_as_expressions(run, tmp_path):
    # Labels with commas are quoted in the CSV header; a bad row is a row of every output.
    points = tmp_path / "p.csv"
    points.write_text("r,t\n2,0.5\n1,0\n")
    code, out, err = run("eval", "out max(r, t), r/t", "--points", points, "--on-error", "null")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == 'r,t,"max(r, t)","d(max(r, t))/dr","d(max(r, t))/dt",r/t,d(r/t)/dr,d(r/t)/dt,error'
    assert lines[1] == "2.0,0.5,2.0,1.0,0.0,4.0,2.0,-8.0,"
    assert lines[2].startswith("1.0,0.0,,,,,,,") and "divisor other than 0" in lines[2]
    assert "1 of 2 points could not be evaluated" in err
    code, out, _ = run("eval", "out max(r, t), r/t", "--points", points, "--on-error", "null", "--format", "jsonl")
    second = strict_json(out.splitlines()[1])
    assert second["values"] is None and second["jacobian"] is None and second["error"]["type"] == "domain"


def test_json_errors_are_strict_objects(run):
    code, out, _ = run("eval", TWO_OUTPUTS, "x=1", "y=2", "--cotangent", "w=1", "--json")
    assert code == 2
    assert strict_json(out)["error"]["type"] == "binding"


# -- the sweep limit (README, "Limits") ----------------------------------------------------


def test_sweep_work_beyond_the_limit_is_refused_before_it_starts(run, monkeypatch):
    # 3 inputs, 5 nodes: forward mode takes 15 node visits, the Hessian 3 sweeps at 10 each: 150.
    monkeypatch.setenv("GRADCLI_MAX_SWEEP_WORK", "14")
    code, out, err = run("eval", "x*y+z", "x=1", "y=2", "z=3", "--mode", "forward")
    assert code == 2 and out == ""
    assert "the Jacobian in forward mode takes 3 sweeps over 5 nodes, 15 node visits" in err
    assert "GRADCLI_MAX_SWEEP_WORK" in err
    monkeypatch.setenv("GRADCLI_MAX_SWEEP_WORK", "15")
    code, _, err = run("eval", "x*y+z", "x=1", "y=2", "z=3", "--mode", "forward")
    assert code == 0, err
    code, out, err = run("eval", "x*y+z", "x=1", "y=2", "z=3", "--hessian", "--json")
    assert code == 2
    error = strict_json(out)["error"]
    assert error["type"] == "input"
    assert error["details"] == {"unit": "node visits", "size": 150, "limit": 15, "variable": "GRADCLI_MAX_SWEEP_WORK"}
    assert "--hessian --direction" in error["hint"]
    # one Hessian-vector product per output fits where the Hessian does not (10 visits per node)
    monkeypatch.setenv("GRADCLI_MAX_SWEEP_WORK", "50")
    code, _, err = run("eval", "x*y+z", "x=1", "y=2", "z=3", "--hessian", "--direction", "x=1")
    assert code == 0, err


def test_hessian_at_a_kink_is_flagged(run):
    # abs(x - y)^2 + x*y is smooth (its Hessian is [[2, -1], [-1, 2]]), but x = y is abs's
    # kink: second derivatives pass through abs'(0) = 0 there, so gradcli must say so.
    data = eval_json(run, "abs(x - y)^2 + x*y", "x=1", "y=1", "--hessian")
    kinds = [w["kind"] for w in data["warnings"]]
    assert kinds == ["kink", "second-derivative"]
    assert "check --order 2" in data["warnings"][1]["message"]
    away = eval_json(run, "abs(x - y)^2 + x*y", "x=1", "y=0.5", "--hessian")
    assert away["warnings"] == []
    assert away["hessian"]["abs(x - y)^2 + x*y"] == {"x": {"x": 2, "y": -1}, "y": {"x": -1, "y": 2}}


def test_a_signed_first_output_gets_a_hint(run):
    # `out -x, y` reads as the variable out minus x, then a stray comma: say how to write it.
    code, out, err = run("eval", "y2 = 1; out -x, y2", "x=1")
    assert code == 2 and out == ""
    assert "unexpected ','" in err
    assert "write `out (-x), y`" in err
    code, _, err = run("eval", "out = 3; z = out -x, 2", "x=1")  # not a statement starting with out
    assert code == 2 and "write `out (-x), y`" not in err


def test_a_case_with_several_outputs_is_an_error_of_that_case(run, tmp_path):
    suite = tmp_path / "two.grad.toml"
    suite.write_text(
        '[[case]]\nname = "two outputs"\nprogram = "u = x*y; v = x + y; out u, v"\n'
        "[[case.point]]\nat = { x = 1, y = 2 }\nvalue = 2\ngradient = { x = 2, y = 1 }\n"
    )
    code, out, err = run("test", suite, "--jsonl")
    assert code != 0
    records = [strict_json(line) for line in out.splitlines() if line.strip()]
    text = json.dumps(records)
    assert "works on a program with one output, and this one has 2: u, v" in text


# -- many names: what is listed one by one is capped (each "did you mean" compares with every input)


def test_many_unused_values_are_counted_after_ten(run):
    extra = [f"z{i}=1" for i in range(25)]
    code, _, err = run("eval", "x + y", "x=1", "y=2", *extra)
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(lines) == 11
    assert lines[0] == "warning: z0=1 is not used: the program has no input named z0"
    assert lines[-1] == "warning: 15 more values are not used: z10, z11, z12, z13, z14, z15, z16, z17, z18, z19 and 5 more"


def test_many_missing_values_are_counted_after_ten(run):
    program = "+".join(f"x{i}" for i in range(30))
    code, out, err = run("eval", program, "--json")
    assert code == 2
    error = strict_json(out)["error"]
    assert error["message"] == "missing values for x0, x1, x2, x3, x4, x5, x6, x7, x8, x9 and 20 more"
    assert error["details"]["missing"] == [f"x{i}" for i in range(30)]  # all of them, for programs
    assert error["hint"].endswith("x9=... and 20 more")
