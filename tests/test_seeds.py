"""The worked examples users know (Olah; CS231n), node by node, from the samples/ files.

Expected numbers are copied from the project's seed examples, which were
computed in float64 by an independent autodiff system; they are compared
exactly, as written there.
"""

from pathlib import Path

import pytest

import gradcli
from seed_data import CS231N_STAGED_NODES

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(sample: str, mode: str = "reverse", wrt: str | None = None, **point: float):
    return gradcli.evaluate((SAMPLES / sample).read_text(), point, mode=mode, wrt=wrt)


def rows_by_name(result) -> dict[str, int]:
    """The newest node bound to each name (a name may label several nodes)."""
    return {node.name: node.id for node in result.graph.nodes if node.name is not None}


def test_olah_node_by_node():
    result = run("olah.grad", a=2, b=1)
    nodes = rows_by_name(result)
    expected = {  # node: (value, d e / d node)
        "a": (2, 2),
        "b": (1, 5),
        "c": (3, 2),
        "d": (2, 3),
        "e": (6, 1),
    }
    for name, (value, adjoint) in expected.items():
        assert result.values[nodes[name]] == value, name
        assert result.adjoints[nodes[name]] == adjoint, name
    assert result.value == 6
    assert result.gradient == {"a": 2, "b": 5}


def test_olah_edges():
    result = run("olah.grad", a=2, b=1)
    graph, nodes = result.graph, rows_by_name(result)

    def edge(node: str, arg: str) -> float:
        n = graph.nodes[nodes[node]]
        return result.partials[n.id][n.args.index(nodes[arg])]

    assert edge("c", "a") == 1 and edge("c", "b") == 1
    assert edge("d", "b") == 1
    assert edge("e", "c") == 2  # de/dc = d
    assert edge("e", "d") == 3  # de/dd = c


def test_olah_expression_matches_staged_form():
    inline = gradcli.evaluate("(a+b)*(b+1)", {"a": 2, "b": 1})
    assert inline.value == 6 and inline.gradient == {"a": 2, "b": 5}


def test_olah_forward_mode_from_b():
    result = run("olah.grad", mode="forward", wrt="b", a=2, b=1)
    nodes = rows_by_name(result)
    tangents = result.tangents["b"]
    assert [tangents[nodes[n]] for n in ("b", "c", "d", "e")] == [1, 1, 1, 5]
    assert tangents[nodes["a"]] == 0
    assert result.gradient == {"a": 2, "b": 5}
    assert result.sweeps == 2  # one tangent sweep per input


def test_olah_reverse_mode_one_sweep():
    result = run("olah.grad", a=2, b=1)
    assert result.sweeps == 1


def test_cs231n_add_mul_gates():
    result = run("cs231n_add_mul.grad", x=-2, y=5, z=-4)
    assert result.value == -12
    assert result.gradient == {"x": -4, "y": -4, "z": 3}


def test_cs231n_max_gate_routes():
    result = run("cs231n_max.grad", x=3, y=-4, z=2, w=-1)
    assert result.value == -20
    assert result.gradient == {"x": -8, "y": 6, "z": 2, "w": 0}


def test_cs231n_sigmoid_neuron():
    result = run("cs231n_neuron.grad", w0=2, w1=-3, w2=-3, x0=-1, x1=-2)
    assert result.value == 0.7310585786300049
    assert result.gradient == {
        "w0": -0.19661193324148185,
        "x0": 0.3932238664829637,
        "w1": -0.3932238664829637,
        "x1": -0.5898357997244456,
        "w2": 0.19661193324148185,
    }
    sigmoid_node = result.graph.nodes[result.graph.output]
    local = result.partials[sigmoid_node.id][0]
    assert local == pytest.approx((1 - result.value) * result.value)
    assert round(local, 1) == 0.2


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_cs231n_staged_node_by_node(mode):
    result = run("cs231n_staged.grad", mode=mode, x=3, y=-4)
    assert result.value == 1.5456448841066441
    assert result.gradient["x"] == pytest.approx(2.0595697955721652, rel=1e-15)
    assert result.gradient["y"] == pytest.approx(1.5922327514838093, rel=1e-15)
    if mode == "forward":
        return
    assert result.gradient == {"x": 2.0595697955721652, "y": 1.5922327514838093}
    expected = CS231N_STAGED_NODES  # node: (value, df/dnode)
    nodes = rows_by_name(result)
    for name, (value, adjoint) in expected.items():
        assert result.values[nodes[name]] == value, name
        assert result.adjoints[nodes[name]] == adjoint, name


def test_cs231n_staged_gradients_accumulate():
    """x and y each feed several nodes; their gradients are sums over those uses."""
    result = run("cs231n_staged.grad", x=3, y=-4)
    graph = result.graph
    x = graph.inputs["x"]
    uses = [n for n in graph.nodes if x in n.args]
    assert len(uses) == 3  # num, sigx, xpy
    total = sum(result.adjoints[n.id] * result.partials[n.id][n.args.index(x)] for n in uses)
    assert total == pytest.approx(result.gradient["x"], rel=1e-15)


def test_diamond_sample():
    result = run("diamond.grad", a=2, b=3)
    assert result.value == 41
    assert result.gradient == {"a": 25, "b": 19}


def test_staged_olah_reuses_name_e():
    """Olah's staged program assigns e; the constant e is then shadowed by the node."""
    result = gradcli.evaluate("c = a + b; d = b + 1; e = c * d; e + 0", {"a": 2, "b": 1})
    assert result.value == 6
    assert result.gradient == {"a": 2, "b": 5}
