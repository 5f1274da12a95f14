"""`gradcli explain`'s computation and rendering: staged code, the backward pass, paths, modes.

Expected numbers come from the seed examples (Olah; CS231n, computed in
float64 by an independent autodiff system) or from closed forms (path counts
2**k, derivatives of sin/cos chains), never from gradcli's own output.
"""

from __future__ import annotations

import io
import json
import math
import random
from pathlib import Path

import pytest
from rich.console import Console

import gradcli
from gradcli.errors import BindingError
from gradcli.explain import decimal, explain, stage_names
from gradcli.render.explain import count_text, explanation_to_dict, to_renderable
from seed_data import CS231N_STAGED_NODES

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def explained(program: str, wrt: str | None = None, path_limit: int = 20, **point: float):
    return explain(gradcli.evaluate(program, point), wrt, path_limit)


def backward_texts(explanation) -> list[str]:
    return [line.text for step in explanation.backward for line in step.lines]


def final_totals(explanation) -> dict[str, float]:
    """Each stage's gradient after the last backward line that reaches it."""
    totals = {}
    for step in explanation.backward:
        for line in step.lines:
            totals[line.target] = line.total
    return totals


def rendered(explanation, **options) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(to_renderable(explanation, **options))
    return console.file.getvalue()


def diamonds(k: int) -> str:
    """k diamonds in a row: d_i = sin(d_{i-1}) + cos(d_{i-1}), 2**k paths from x."""
    return "d0 = x\n" + "\n".join(f"d{i} = sin(d{i - 1}) + cos(d{i - 1})" for i in range(1, k + 1))


def diamond_derivative(k: int, x: float) -> float:
    value, derivative = x, 1.0
    for _ in range(k):  # d/dd (sin d + cos d) = cos d - sin d
        derivative *= math.cos(value) - math.sin(value)
        value = math.sin(value) + math.cos(value)
    return derivative


# --------------------------------------------------------------------------------------
# Seed 1: Olah, e = (a+b)*(b+1) at a=2, b=1
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("program", ["(a+b)*(b+1)", (SAMPLES / "olah.grad").read_text()])
def test_olah_staged_forward_pass(program):
    x = explained(program, "b", a=2, b=1)
    assert [(line.target, line.value) for line in x.forward] == [("c", 3), ("d", 2), ("e", 6)]
    assert [line.text for line in x.forward] == ["c = a + b = 3", "d = b + 1 = 2", "e = c * d = 6"]
    c = x.forward[0]
    assert (c.op, c.args, c.expression) == ("add", ("a", "b"), "a + b")
    assert x.forward[1].args == ("b", "1")  # the literal is written inline, not named
    assert x.output_name == "e" and x.value == 6


@pytest.mark.parametrize("program", ["(a+b)*(b+1)", (SAMPLES / "olah.grad").read_text()])
def test_olah_backward_pass(program):
    x = explained(program, "b", a=2, b=1)
    assert x.start == "de = 1"
    texts = backward_texts(x)
    assert texts[:2] == ["dc = de * 2 = 2", "dd = de * 3 = 3"]  # de/dc = d = 2, de/dd = c = 3
    assert "da = dc * 1 = 2" in texts
    db = [line for step in x.backward for line in step.lines if line.target == "b"]
    assert [line.accumulate for line in db] == [False, True]  # first =, then +=
    assert db[0].text.startswith("db = ") and db[1].text.startswith("db += ")
    assert db[-1].total == 5 and db[-1].text.endswith("= 5")
    assert {line.source for line in db} == {"c", "d"}  # b feeds two nodes
    assert all(line.uses == 2 and line.feeds == 2 for line in db)
    assert final_totals(x) == {"c": 2, "d": 3, "a": 2, "b": 5}  # the seed's de/dnode column


def test_olah_paths_from_b():
    x = explained("(a+b)*(b+1)", "b", a=2, b=1)
    view = x.paths
    assert view.count == 2 and view.not_shown == 0
    got = sorted(([x.names[n] for n in p.nodes], p.factors, p.product) for p in view.paths)
    assert got == [(["b", "c", "e"], (1, 2), 2), (["b", "d", "e"], (1, 3), 3)]
    assert view.sum == 5 and view.listed_sum == 5 and view.gradient == 5


def test_olah_rendered():
    text = rendered(explained("(a+b)*(b+1)", "b", a=2, b=1))
    for expected in (
        "forward pass", "backward pass", "paths from b to e", "forward vs reverse mode",
        "c = a + b = 3", "e = c * d = 6", "de = 1", "dc = de * 2 = 2", "dd = de * 3 = 3",
        "db += dc * 1 = 5  (b feeds 2 nodes: gradients add up)",
        "b -> c -> e: 1 * 2 = 2", "b -> d -> e: 1 * 3 = 3", "sum over 2 paths = 5 = de/db",
        "reverse mode is cheaper here",
    ):
        assert expected in text, expected


# --------------------------------------------------------------------------------------
# Seed 2: CS231n gates, f = 2*(x*y + max(z, w)) at x=3, y=-4, z=2, w=-1
# --------------------------------------------------------------------------------------


def test_cs231n_gates():
    x = explained((SAMPLES / "cs231n_max.grad").read_text(), x=3, y=-4, z=2, w=-1)
    assert x.value == -20
    gates = {step.op: step.gate for step in x.backward}
    assert gates["add"] == "distributes" and gates["mul"] == "swaps" and gates["max"] == "routes"
    route = next(step for step in x.backward if step.op == "max")
    assert "z" in route.note and "w" not in route.note  # routed to the larger input
    assert [(line.target, line.partial) for line in route.lines] == [("z", 1), ("w", 0)]
    assert final_totals(x)["w"] == 0
    totals = final_totals(x)
    assert {name: totals[name] for name in "xyzw"} == {"x": -8, "y": 6, "z": 2, "w": 0}
    # the mul gate x*y swaps: dx uses y's value, dy uses x's
    swap = next(step for step in x.backward if step.op == "mul" and step.lines[0].target == "x")
    assert [line.partial for line in swap.lines] == [-4, 3]
    assert x.paths is None  # four inputs and no --wrt: no single input to follow
    assert (x.modes.inputs, x.modes.forward_sweeps, x.modes.reverse_sweeps, x.modes.cheaper) == (4, 4, 1, "reverse")


def test_max_ties_share_the_gradient():
    x = explained("max(x, x, y)", x=2, y=1)
    step = x.backward[0]
    assert step.gate == "routes" and "2 tied" in step.note and "share" in step.note
    assert [line.partial for line in step.lines] == [0.5, 0.5, 0]  # README: 1/k to each of k tied arguments
    assert final_totals(x) == {"x": 1, "y": 0}


def test_forward_mode_evaluation_explains_the_same():
    program = (SAMPLES / "cs231n_staged.grad").read_text()
    reverse = explain(gradcli.evaluate(program, {"x": 3, "y": -4}), "y")
    forward = explain(gradcli.evaluate(program, {"x": 3, "y": -4}, mode="forward"), "y")
    assert forward.forward == reverse.forward and forward.backward == reverse.backward
    assert forward.paths.sum == reverse.paths.sum


def test_sub_and_neg_gates():
    x = explained("-(a - b)", a=1, b=2)
    gates = {step.op: step for step in x.backward}
    assert gates["neg"].gate == "flips" and gates["sub"].gate == "distributes"
    assert [(line.target, line.partial) for line in gates["sub"].lines] == [("a", 1), ("b", -1)]
    assert final_totals(x)["a"] == -1 and final_totals(x)["b"] == 1


# --------------------------------------------------------------------------------------
# Seed 4: CS231n staged computation, gradients that add up
# --------------------------------------------------------------------------------------

STAGED_TABLE = CS231N_STAGED_NODES  # node: (value, df/dnode), as printed in the seed examples


def test_cs231n_staged_backward_pass():
    x = explained((SAMPLES / "cs231n_staged.grad").read_text(), "x", x=3, y=-4)
    assert {line.target: line.value for line in x.forward} == {k: v for k, (v, _) in STAGED_TABLE.items()}
    adjoints = {step.name: step.adjoint for step in x.backward}
    adjoints[x.output_name] = 1.0
    for name, (_, adjoint) in STAGED_TABLE.items():
        if name in adjoints:  # every stage with a non-literal argument passes its adjoint back
            assert adjoints[name] == adjoint, name
    totals = final_totals(x)
    assert totals["x"] == 2.0595697955721652 and totals["y"] == 1.5922327514838093
    for name, (_, adjoint) in STAGED_TABLE.items():
        if name != "f":
            assert totals[name] == adjoint, name
    for name, uses in (("x", 3), ("y", 2)):
        lines = [line for step in x.backward for line in step.lines if line.target == name]
        assert len(lines) == uses and [line.accumulate for line in lines] == [False] + [True] * (uses - 1)
        assert all(line.text.startswith(f"d{name} += ") for line in lines[1:])
    assert x.paths.count == 3  # x -> num, x -> sigx -> den, x -> xpy -> xpysqr -> den
    assert x.paths.sum == pytest.approx(2.0595697955721652, rel=1e-15)


# --------------------------------------------------------------------------------------
# Paths: Olah's X-Y-Z, diamond chains, random programs
# --------------------------------------------------------------------------------------


def test_olah_xyz_nine_paths_over_parallel_edges():
    # X has 3 edges to Y, Y 3 edges to Z: max of three equal arguments shares the gradient 1/3 each
    x = explained("y = max(x, x, x); z = max(y, y, y)", x=0.5)
    view = x.paths
    assert view.count == 9 and len(view.paths) == 9
    assert len({p.slots for p in view.paths}) == 9  # parallel edges make distinct paths
    assert all(p.nodes == view.paths[0].nodes for p in view.paths)
    assert view.enumeration_edges == 9 * 2  # nine paths of two edges each
    assert view.forward_edges == view.path_edges == 6  # factored, (a+b+c)(d+e+f) touches each edge once
    assert view.listed_sum == pytest.approx(1.0, rel=1e-15)
    assert "-(argument 2)->" in rendered(x)


def test_olah_xyz_with_distinct_edges():
    x0 = 0.3
    x = explained("y = sin(x) + cos(x) + exp(x); z = sin(y) + cos(y) + exp(y)", x=x0)
    y0 = math.sin(x0) + math.cos(x0) + math.exp(x0)
    factored = (math.cos(x0) - math.sin(x0) + math.exp(x0)) * (math.cos(y0) - math.sin(y0) + math.exp(y0))
    assert x.paths.count == 9
    assert x.paths.listed_sum == pytest.approx(factored, rel=1e-13)
    assert x.paths.sum == pytest.approx(factored, rel=1e-13)


@pytest.mark.parametrize("k", range(1, 11))
def test_diamond_chain_enumerated_and_counted_agree(k):
    x = explained(diamonds(k), path_limit=2**k + 5, x=0.7)
    view = x.paths
    assert view.count == 2**k and len(view.paths) == 2**k and view.not_shown == 0
    assert len({(p.nodes, p.slots) for p in view.paths}) == 2**k  # no path listed twice
    assert all(p.nodes[0] == view.wrt_node and p.nodes[-1] == x.output for p in view.paths)
    # x -> d0 (an id node), then two edges per diamond
    assert view.enumeration_edges == sum(len(p.factors) for p in view.paths) == 2**k * (2 * k + 1)
    assert view.forward_edges == view.path_edges == 1 + 4 * k
    expected = diamond_derivative(k, 0.7)
    assert view.listed_sum == pytest.approx(expected, rel=1e-12)
    assert view.sum == pytest.approx(expected, rel=1e-12)
    assert view.gradient == pytest.approx(expected, rel=1e-12)


def test_diamond_chain_of_300_counted_without_enumeration():
    x = explained(diamonds(300), x=0.7)  # 2**300 paths: only counting can finish
    view = x.paths
    assert view.count == 2**300
    assert len(view.paths) == view.limit == 20 and view.not_shown == 2**300 - 20
    assert view.enumeration_edges == 2**300 * 601
    assert view.sum == pytest.approx(diamond_derivative(300, 0.7), rel=1e-10)
    data = explanation_to_dict(x)
    assert data["paths"]["count"] == str(2**300)  # past 2**53: decimal digits
    assert len(data["paths"]["listed"]) == 20
    json.dumps(data, allow_nan=False)
    text = rendered(x, max_lines=10)
    assert "2^300" in text and "more paths not shown" in text


def test_diamond_chain_of_1000_counted_exactly():
    view = explained(diamonds(1000), path_limit=3, x=0.7).paths
    assert view.count == 2**1000 and len(view.paths) == 3


def test_path_limit_zero_lists_none_but_counts_all():
    view = explained(diamonds(4), path_limit=0, x=0.7).paths
    assert view.count == 16 and view.paths == () and view.not_shown == 16


OPS_1 = ["sin({})", "cos({})", "tanh({})", "sigmoid({})", "-{}", "exp({} / 4)", "{} ^ 2"]
OPS_2 = ["{} + {}", "{} - {}", "{} * {}", "max({}, {})", "min({}, {})", "{} / (1 + {}^2)", "atan2({}, {})"]


def random_program(rng: random.Random) -> str:
    names = ["a", "b", "c"]
    lines = []
    for i in range(rng.randint(2, 9)):
        if rng.random() < 0.35:
            expr = rng.choice(OPS_1).format(rng.choice(names))
        else:
            expr = rng.choice(OPS_2).format(rng.choice(names), rng.choice(names))
        lines.append(f"s{i} = {expr}")
        names.append(f"s{i}")
    return "\n".join(lines)


def count_paths_by_brute_force(graph, start: int, output: int) -> int:
    """Every path walked one by one, with an explicit stack (independent of gradcli.explain)."""
    consumers: dict[int, list[int]] = {}
    for node in graph.nodes:
        for arg in node.args:  # one entry per edge: parallel edges count twice
            consumers.setdefault(arg, []).append(node.id)
    count, stack = 0, [start]
    while stack:
        node = stack.pop()
        if node == output:
            count += 1
        stack.extend(consumers.get(node, ()))
    return count


@pytest.mark.parametrize("seed", range(120))
def test_path_sums_equal_the_gradient_on_random_programs(seed):
    rng = random.Random(seed)
    program = random_program(rng)
    point = {name: rng.uniform(-2, 2) for name in "abc"}
    evaluation = gradcli.evaluate(program, point)
    graph = evaluation.graph
    for name in graph.inputs:
        view = explain(evaluation, name, path_limit=10**6).paths
        assert view.count == count_paths_by_brute_force(graph, graph.inputs[name], graph.output), program
        assert len(view.paths) == view.count and view.not_shown == 0
        assert view.enumeration_edges == sum(len(p.factors) for p in view.paths)
        for path in view.paths:
            assert path.factors == tuple(evaluation.partials[n][s] for n, s in zip(path.nodes[1:], path.slots))
            assert path.product == pytest.approx(math.prod(path.factors), rel=1e-14, abs=0)
        gradient = evaluation.gradient[name]
        tolerance = 1e-12 * abs(gradient) + 1e-12 * sum(abs(p.product) for p in view.paths)
        assert abs(view.listed_sum - gradient) <= tolerance, (program, name)
        assert abs(view.sum - gradient) <= tolerance, (program, name)
    # the backward pass's running totals end at every input's gradient, whatever the order of the sums
    totals = final_totals(explain(evaluation))
    for name, gradient in evaluation.gradient.items():
        assert totals.get(name, 0.0) == pytest.approx(gradient, rel=1e-12, abs=1e-300), (program, name)


@pytest.mark.parametrize("seed", range(40))
def test_forward_lines_are_the_staged_program(seed):
    # the lines, read back as a gradcli program, compute the same value and gradient
    rng = random.Random(1000 + seed)
    program = random_program(rng)
    point = {name: rng.uniform(-2, 2) for name in "abc"}
    original = gradcli.evaluate(program, point)
    x = explain(original)
    staged = gradcli.evaluate("\n".join(f"{line.target} = {line.expression}" for line in x.forward), point)
    assert staged.value == original.value, program
    for name, gradient in original.gradient.items():
        assert staged.gradient[name] == pytest.approx(gradient, rel=1e-12, abs=1e-300), program
    values = {line.target: line.value for line in x.forward}
    assert values == {n.name: staged.values[n.id] for n in staged.graph.nodes if n.name in values}


# --------------------------------------------------------------------------------------
# Stage names and syntax
# --------------------------------------------------------------------------------------


def test_stage_names_skip_used_names_and_referenced_constants():
    x = explained("(a+b)*(b+e)", a=1, b=2)  # e is the constant here, so the stages are c, d, f
    assert [line.target for line in x.forward] == ["c", "d", "f"]
    assert x.forward[1].text.startswith("d = b + e = ")
    assert [line.target for line in explained("(a+b)*(b+1)", a=1, b=2).forward] == ["c", "d", "e"]


def test_stage_names_run_out_of_letters():
    graph = gradcli.parse("sin(" * 30 + "x + t1" + ")" * 30)
    names = [n for n in stage_names(graph) if n is not None]
    generated = names[3:]  # after x, t1 and x + t1's own name
    assert names[:3] == ["x", "t1", "a"]
    letters = [chr(c) for c in range(ord("b"), ord("z") + 1) if chr(c) != "x"]
    assert generated[: len(letters)] == letters
    assert generated[len(letters) :] == ["t2", "t3", "t4", "t5", "t6", "t7"]


def test_reassigned_names_are_told_apart():
    x = explained("x += 1; x = x * x", x=3)
    assert [line.text for line in x.forward] == ["x_2 = x + 1 = 4", "x_3 = x_2 * x_2 = 16"]
    texts = backward_texts(x)
    assert texts == ["dx_2 = dx_3 * 4 = 4", "dx_2 += dx_3 * 4 = 8", "dx = dx_2 * 1 = 8"]  # d(x+1)^2/dx = 8
    assert "(x_2 is used 2 times: gradients add up)" in rendered(x)
    assert len(x.paths.paths) == x.paths.count == 2  # x*x: two edges, two paths


def test_operator_syntax():
    program = "u = -x^2; v = 2^-1 * u; w = (-3)^2 * v; k = 2; y = pi * w / k; z = pow(y, 3); q = atan2(z, x)"
    x = explained(program, x=0.5)
    texts = {line.target: line.text for line in x.forward}
    assert texts["a"].startswith("a = x ^ 2 = ") and texts["u"] == "u = -a = -0.25"
    assert texts["b"] == "b = 2 ^ -1 = 0.5" and texts["c"].startswith("c = (-3) ^ 2 = 9")
    assert texts["k"] == "k = 2"
    assert texts["d"].startswith("d = pi * w = ") and texts["y"].startswith("y = d / k = ")
    assert texts["z"].startswith("z = y ^ 3 = ") and texts["q"].startswith("q = atan2(z, x) = ")
    # the literals 2, 2, -1, -3, 2, pi and 3 are written inline, not named
    assert "pi" not in x.names and x.names.count(None) == 7


# --------------------------------------------------------------------------------------
# Skipped nodes, wrt, modes
# --------------------------------------------------------------------------------------


def test_nodes_that_do_not_feed_the_output_are_skipped_with_a_note():
    x = explained("y = sin(x); z = y * 2; q = cos(x) * 0\nx * 3 + q", x=1)
    reasons = {s.name: s.reason for s in x.skipped}
    assert "does not feed the output" in reasons["y"] and "does not feed the output" in reasons["z"]
    zero = next(s for s in x.skipped if s.name not in ("y", "z"))  # cos(x): its adjoint is 0
    assert "adjoint is 0" in zero.reason
    assert final_totals(x)["x"] == 3
    assert "skipped y, z: does not feed the output" in rendered(x)


def test_wrt_default_and_errors():
    assert explained("sin(x)", x=1).paths.wrt == "x"  # one input: followed by default
    assert explained("a*b", a=1, b=2).paths is None
    assert explained("a*b", "b", a=1, b=2).paths.wrt == "b"
    with pytest.raises(BindingError, match="no input named c"):
        explained("a*b", "c", a=1, b=2)
    with pytest.raises(ValueError):
        explained("a*b", "b", path_limit=-1, a=1, b=2)


def test_no_path_when_the_input_does_not_reach_the_output():
    x = explained("y = x * 2; 5", x=1)
    assert x.paths.count == 0 and x.paths.paths == () and x.paths.sum == 0
    assert "no path leads from x to" in rendered(x)


def test_modes():
    one = explained("sin(x)", x=1).modes
    assert (one.inputs, one.outputs, one.forward_sweeps, one.reverse_sweeps, one.cheaper) == (1, 1, 1, 1, "equal")
    olah = explained("(a+b)*(b+1)", "b", a=2, b=1)
    # edges: a->c, b->c, b->d, 1->d, c->e, d->e; the literal's edge carries no derivative
    assert olah.modes.edges == 6 and olah.modes.reverse_edges == 5
    assert olah.paths.forward_edges == 4 and olah.paths.enumeration_edges == 4


# --------------------------------------------------------------------------------------
# Depth, JSON, numbers
# --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_100000_deep_chain(default_recursion_limit):
    depth = 100_000
    graph = gradcli.parse("sin(" * depth + "x" + ")" * depth)
    x = explain(gradcli.evaluate(graph, {"x": 0.5}))
    value, derivative = 0.5, 1.0
    for _ in range(depth):
        derivative *= math.cos(value)
        value = math.sin(value)
    assert x.paths.count == 1 and len(x.paths.paths[0].nodes) == depth + 1
    assert x.paths.enumeration_edges == x.paths.forward_edges == depth
    assert x.paths.sum == pytest.approx(derivative, rel=1e-9)
    assert len(x.forward) == depth and len(backward_texts(x)) == depth
    assert final_totals(x)["x"] == pytest.approx(derivative, rel=1e-9)
    assert len(set(x.names)) == depth + 1  # every stage named, no name twice
    text = rendered(x, max_lines=10)
    assert "lines not shown" in text and "more nodes" in text


def test_json_is_strict_with_non_finite_numbers():
    x = explained("sqrt(x) + x", x=0)  # d sqrt(x)/dx is +Infinity at 0
    data = explanation_to_dict(x)
    text = json.dumps(data, allow_nan=False)
    assert '"Infinity"' in text
    assert data["paths"]["count"] == 2 and data["modes"]["cheaper"] == "equal"
    olah = explanation_to_dict(explained("(a+b)*(b+1)", "b", a=2, b=1))
    json.dumps(olah, allow_nan=False)
    assert olah["paths"]["sum"] == 5 and olah["gradient"] == {"a": 2, "b": 5}
    assert [line["text"] for line in olah["forward"]] == ["c = a + b = 3", "d = b + 1 = 2", "e = c * d = 6"]
    assert olah["backward"]["start"] == "de = 1"
    assert olah["names"] == ["a", "b", "c", None, "d", "e"]


def test_decimal_and_counts_past_the_int_to_str_limit():
    for n in (0, 7, -12, 10**499, 10**500, 10**500 + 1, 2**3000 - 1):
        assert decimal(n) == str(n)
    n = 2**20000  # 6021 digits: str(n) raises ValueError under Python's default limit
    digits = decimal(n)
    assert len(digits) == math.floor(20000 * math.log10(2)) + 1
    assert digits[-400:] == str(n % 10**400).zfill(400)
    assert digits[:30] == str(n // 10 ** (len(digits) - 30))
    assert count_text(1024) == "1,024" and count_text(n).endswith("= 2^20000")
