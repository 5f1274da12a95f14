"""`gradcli graph` and `gradcli explain` on programs with several outputs (`out u, v`).

Expected numbers are closed forms worked out by hand, never gradcli's own
output: for u = x*y and v = x + sin(y) at x=1, y=2, du/dx = y = 2,
du/dy = x = 1, dv/dx = 1 and dv/dy = cos 2; sin(y) feeds v only.
"""

from __future__ import annotations

import io
import json
import math
import re

import pytest
from rich.console import Console
from test_explain import final_totals  # reads any object with .backward, as an OutputExplanation has
from test_graph_formats import dot, drawn  # noqa: F401 (dot is a fixture: Graphviz, or skip)

import gradcli
from gradcli.cli import main
from gradcli.errors import BindingError
from gradcli.evaluation import choose_mode
from gradcli.explain import explain
from gradcli.graph import format_number
from gradcli.picture import feeds_outputs, picture
from gradcli.render.dot import to_dot
from gradcli.render.explain import explanation_to_dict, to_renderable
from gradcli.render.graph_terminal import render_graph
from gradcli.render.json import picture_to_dict
from gradcli.render.mermaid import to_mermaid

UV = "u = x*y; v = x + sin(y); out u, v"
POINT = {"x": 1.0, "y": 2.0}
COS2, SIN2 = math.cos(2.0), math.sin(2.0)
# Node ids of UV: x, y, u = x*y, sin(y), v = x + sin(y).
X, Y, U, SIN, V = range(5)


def num(x: float) -> str:
    return format_number(x)


def strict(text: str):
    """JSON with no NaN/Infinity literals (json.loads accepts them unless told not to)."""
    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def run(capsys, monkeypatch):
    """main(argv) with a wide fixed terminal and no colour: (exit code, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("FORCE_COLOR", raising=False)

    def invoke(*argv):
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def uv_picture(output=None, mode="reverse"):
    return picture(gradcli.evaluate(UV, POINT, mode=mode), output=output)


def text_of(renderable, width=200) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


# --------------------------------------------------------------------------------------
# The picture as data
# --------------------------------------------------------------------------------------


def test_picture_has_one_adjoint_per_output():
    p = uv_picture()
    assert p.outputs == (U, V) and p.output_labels == ("u", "v") and p.selected is None and p.output == U
    adjoints = {n.id: n.adjoints for n in p.nodes}
    assert adjoints[X] == (2, 1)  # du/dx = y, dv/dx = 1
    assert adjoints[Y][0] == 1 and adjoints[Y][1] == pytest.approx(COS2, abs=1e-15)
    assert adjoints[U] == (1, 0) and adjoints[SIN] == (0, 1) and adjoints[V] == (0, 1)
    # `adjoint` is the first output's
    assert [n.adjoint for n in p.nodes] == [a[0] for a in adjoints.values()]
    assert [n.role for n in p.nodes] == ["input", "input", "output", "node", "output"]
    assert all(n.feeds_output for n in p.nodes)  # every node feeds some output
    assert p.nodes[SIN].feeds_outputs == (False, True) and p.nodes[X].feeds_outputs == (True, True)


def test_picture_of_one_selected_output():
    p = uv_picture(output="v")
    assert p.selected == 1 and p.output == V
    assert [n.adjoint for n in p.nodes[:2]] == [1, pytest.approx(COS2, abs=1e-15)]
    assert [n.feeds_output for n in p.nodes] == [True, True, False, True, True]  # u does not feed v
    assert p.nodes[U].role == "output"  # still one of the program's outputs
    assert p.nodes[X].adjoints == (2, 1)  # every output's adjoints stay in the data


def test_picture_from_a_forward_mode_evaluation_sweeps_backwards_itself():
    forward, reverse = uv_picture(mode="forward"), uv_picture()
    assert [n.adjoints for n in forward.nodes] == [n.adjoints for n in reverse.nodes]


def test_unknown_output_label_says_did_you_mean():
    with pytest.raises(BindingError, match="no output named vv") as info:
        uv_picture(output="vv")
    assert "did you mean v?" in info.value.hint and "outputs: u, v" in info.value.hint
    with pytest.raises(BindingError, match="no output named x\\+z") as info:
        explain(gradcli.evaluate("out x*y, x+y", POINT), output="x+z")
    assert info.value.hint == "did you mean x+y? outputs: x*y, x+y"


def test_feeds_outputs_masks():
    graph = gradcli.parse("a = x*2; b = a + y; c = sin(x); d = 5; out b, c")
    masks = feeds_outputs(graph, graph.outputs)
    by_name = {node.name: masks[node.id] for node in graph.nodes if node.name}
    assert by_name == {"x": 0b11, "y": 0b01, "a": 0b01, "b": 0b01, "c": 0b10, "d": 0}


def test_diamonds_and_reuse_per_output():
    # b = a + a, c = b + b at a=1: dc/da = 4, db/da = 2 (design.md's reuse case), per output.
    p = picture(gradcli.evaluate("b = a + a; c = b + b; out c, b", {"a": 1}))
    assert p.nodes[0].adjoints == (4, 2)
    # y = e + f over the diamond c = a+b, d = a*b at a=2, b=3: dy/da = 25, dy/db = 19; c's own row is (1, 1).
    program = "c = a + b; d = a * b; e = c + d; f = c * d; y = e + f; out y, c"
    p = picture(gradcli.evaluate(program, {"a": 2, "b": 3}))
    assert (p.nodes[0].adjoints, p.nodes[1].adjoints) == ((25, 1), (19, 1))
    assert p.nodes[p.outputs[0]].value == 41


# --------------------------------------------------------------------------------------
# Terminal
# --------------------------------------------------------------------------------------

UV_SNAPSHOT = f"""\
u = x*y  mul  value 2  adjoint(u) 1  adjoint(v) 0  ◀ output u
├── [×2] x  input  value 1  adjoint(u) 2  adjoint(v) 1
└── [×1] y  input  value 2  adjoint(u) 1  adjoint(v) {num(COS2)}
v = x + sin(y)  add  value {num(1 + SIN2)}  adjoint(u) 0  adjoint(v) 1  ◀ output v
├── [×1] x  (shared: drawn above)
└── [×1] sin(y)  sin  value {num(SIN2)}  adjoint(u) 0  adjoint(v) 1
    └── [×{num(COS2)}] y  (shared: drawn above)
[×p]: d(node above)/d(this node), the edge's local derivative; adjoint(u): d(u)/d(node), one per output
"""

UV_OF_V_SNAPSHOT = f"""\
v = x + sin(y)  add  value {num(1 + SIN2)}  adjoint(v) 1  ◀ output v
├── [×1] x  input  value 1  adjoint(v) 1
└── [×1] sin(y)  sin  value {num(SIN2)}  adjoint(v) 1
    └── [×{num(COS2)}] y  input  value 2  adjoint(v) {num(COS2)}
not used by v (adjoint 0): u
[×p]: d(node above)/d(this node), the edge's local derivative; adjoint(v): d(v)/d(node)
"""


def test_terminal_forest_one_tree_per_output(run):
    code, out, err = run("graph", UV, "x=1", "y=2", "--no-color")
    assert (code, err) == (0, "")
    assert out == UV_SNAPSHOT


def test_terminal_one_selected_output(run):
    code, out, err = run("graph", UV, "x=1", "y=2", "--of", "v", "--no-color")
    assert (code, err) == (0, "")
    assert out == UV_OF_V_SNAPSHOT


def test_terminal_output_used_by_an_earlier_output_points_back():
    # v = u*u with u = x*x at x=3: dv/du = 2u = 18, dv/dx = 4x^3 = 108, du/dx = 2x = 6.
    p = picture(gradcli.evaluate("u = x*x; v = u*u; out v, u", {"x": 3}))
    lines = text_of(render_graph(p)).splitlines()
    assert lines[0] == "v = u*u  mul  value 81  adjoint(v) 1  adjoint(u) 0  ◀ output v"
    assert lines[1] == "├── [×9] u = x*x  mul  value 9  adjoint(v) 18  adjoint(u) 1  ◀ output u"
    assert "x  input  value 3  adjoint(v) 108  adjoint(u) 6" in lines[2]
    assert lines[5] == "u = x*x  mul  value 9  adjoint(v) 18  adjoint(u) 1  ◀ output u  (drawn above)"


def test_terminal_same_node_twice_and_constant_outputs():
    p = picture(gradcli.evaluate("u = x*y; out u, (u)", POINT))
    first = text_of(render_graph(p)).splitlines()[0]
    assert first == "u = x*y  mul  value 2  adjoint(u) 1  adjoint((u)) 1  ◀ outputs u, (u)"
    text = text_of(render_graph(picture(gradcli.evaluate("out x, 2", {"x": 1}))))
    assert "2  const  value 2  adjoint(x) 0  adjoint(2) 1  ◀ output 2" in text  # not drawn as a bare literal


def test_terminal_summary_names_every_output(run):
    chain = "; ".join(f"t{i} = sin(t{i - 1}) + x" if i else "t0 = x" for i in range(30))
    code, out, _ = run("graph", chain + "; out t29, t10", "x=0.5", "--no-color")
    assert code == 0
    # t_i is 2i edges from x through the id node t0 = x, sin and add per line: t29 is 59 edges deep.
    assert "feed an output; longest path to an output: 59 edges" in out
    assert re.search(r"outputs \(2\): t29 = \S+, t10 = \S+", out)


# --------------------------------------------------------------------------------------
# DOT, Mermaid, SVG/PNG
# --------------------------------------------------------------------------------------

DOT_NODE = re.compile(r'^  n(\d+) \[label="([^"]*)", (.*)\];$', re.M)
DOT_EDGE = re.compile(r'^  n(\d+) -> n(\d+) \[label="([^"]*)"(.*)\];$', re.M)


def dot_nodes(text: str) -> dict[int, tuple[list[str], str]]:
    return {int(m[1]): (m[2].split("\\n"), m[3]) for m in DOT_NODE.finditer(text)}


def test_dot_labels_every_output_and_every_adjoint():
    text = to_dot(uv_picture())
    nodes = dot_nodes(text)
    assert nodes[X][0] == ["x", "input", "value = 1", "adjoint(u) = 2", "adjoint(v) = 1"]
    assert nodes[Y][0] == ["y", "input", "value = 2", "adjoint(u) = 1", f"adjoint(v) = {num(COS2)}"]
    assert nodes[U][0][-1] == "output u" and nodes[V][0][-1] == "output v"
    for output in (U, V):
        assert 'peripheries="2"' in nodes[output][1]
    assert "dashed" not in text  # every node feeds an output


def test_dot_with_one_selected_output_dims_what_it_does_not_use():
    text = to_dot(uv_picture(output="v"))
    nodes = dot_nodes(text)
    assert nodes[X][0] == ["x", "input", "value = 1", "adjoint(v) = 1"]
    assert "dashed" in nodes[U][1] and 'peripheries="2"' in nodes[U][1]  # an output, unused by v
    assert all("dashed" not in nodes[n][1] for n in (X, Y, SIN, V))
    edges = {(int(m[1]), int(m[2])): m[4] for m in DOT_EDGE.finditer(text)}
    assert "dashed" in edges[(X, U)] and "dashed" in edges[(Y, U)] and "dashed" not in edges[(X, V)]


def test_mermaid_marks_both_outputs():
    text = to_mermaid(uv_picture())
    assert '    n2[["u<br>mul<br>value = 2<br>adjoint(u) = 1<br>adjoint(v) = 0<br>output u"]]' in text
    assert '    n4[["v<br>add<br>value = ' in text
    assert "    class n2,n4 output" in text and "unused" not in text.split("classDef unused")[1]
    selected = to_mermaid(uv_picture(output="v"))
    assert "    class n2 unused" in selected and "    n0 -.->|\"2\"| n2" in selected


def test_single_output_pictures_are_unchanged():
    p = picture(gradcli.evaluate("(a+b)*(b+1)", {"a": 2, "b": 1}))
    assert p.outputs == (5,) and p.output_labels == ("(a+b)*(b+1)",) and p.selected is None
    assert [n.adjoints for n in p.nodes] == [(n.adjoint,) for n in p.nodes]
    nodes = dot_nodes(to_dot(p))
    assert nodes[5][0] == ["(a+b)*(b+1)", "mul", "value = 6", "adjoint = 1"]  # no "output" line, no "(label)"
    assert "adjoint(" not in to_mermaid(p)


def test_graphviz_parses_the_multi_output_dot(dot):
    nodes, edges = drawn(dot, to_dot(uv_picture()))
    assert nodes["n0"][1] == ["x", "input", "value = 1", "adjoint(u) = 2", "adjoint(v) = 1"]
    assert nodes["n4"][1][-1] == "output v" and nodes["n4"][0]["peripheries"] == "2"
    assert len(edges) == 5


def test_svg_and_png_files(run, dot, tmp_path):
    svg, png = tmp_path / "uv.svg", tmp_path / "uv.png"
    code, _, err = run("graph", UV, "x=1", "y=2", "-o", str(svg))
    assert code == 0 and "wrote" in err
    text = svg.read_text(encoding="utf-8")
    assert "adjoint(u) = 2" in text and "adjoint(v) = 1" in text and "output v" in text
    code, _, _ = run("graph", UV, "x=1", "y=2", "--of", "u", "-o", str(png))
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------
# graph --json
# --------------------------------------------------------------------------------------


def test_graph_json_per_output(run):
    code, out, err = run("graph", UV, "x=1", "y=2", "--json")
    assert (code, err) == (0, "")
    data = strict(out)
    assert data["command"] == "graph" and data["selected"] is None and data["output"] == U
    assert data["outputs"] == [
        {"label": "u", "node": U, "value": 2},
        {"label": "v", "node": V, "value": pytest.approx(1 + SIN2, abs=1e-15)},
    ]
    nodes = data["nodes"]
    assert nodes[X]["adjoints"] == {"u": 2, "v": 1} and nodes[X]["adjoint"] == 2
    assert nodes[Y]["adjoints"] == {"u": 1, "v": pytest.approx(COS2, abs=1e-15)}
    assert nodes[SIN]["feeds_outputs"] == {"u": False, "v": True} and nodes[SIN]["feeds_output"] is True
    assert [n["role"] for n in nodes] == ["input", "input", "output", "node", "output"]
    assert len(data["edges"]) == 5


def test_graph_json_with_a_selected_output(run):
    code, out, _ = run("graph", UV, "x=1", "y=2", "--json", "--of", "v")
    data = strict(out)
    assert code == 0 and data["selected"] == "v" and data["output"] == V
    assert data["nodes"][Y]["adjoint"] == pytest.approx(COS2, abs=1e-15)
    assert data["nodes"][U]["feeds_output"] is False and data["nodes"][U]["adjoints"] == {"u": 1, "v": 0}


def test_graph_json_is_strict_with_non_finite_adjoints():
    # d sqrt(x)/dx is +Infinity at 0 for the first output; the second's is 1.
    p = picture(gradcli.evaluate("out sqrt(x), x", {"x": 0}))
    data = picture_to_dict(p)
    text = json.dumps(data, allow_nan=False)
    assert data["nodes"][0]["adjoints"] == {"sqrt(x)": "Infinity", "x": 1}
    strict(text)


def test_single_output_json_gains_only_new_keys():
    data = picture_to_dict(picture(gradcli.evaluate("(a+b)*(b+1)", {"a": 2, "b": 1})))
    assert data["output"] == 5 and data["selected"] is None
    assert data["outputs"] == [{"label": "(a+b)*(b+1)", "node": 5, "value": 6}]
    assert [n["adjoint"] for n in data["nodes"]] == [2, 5, 2, 3, 3, 1]
    assert all(n["adjoints"] == {"(a+b)*(b+1)": n["adjoint"]} for n in data["nodes"])


# --------------------------------------------------------------------------------------
# explain
# --------------------------------------------------------------------------------------


def test_explain_backward_pass_per_output():
    x = explain(gradcli.evaluate(UV, POINT), "y")
    assert [o.label for o in x.outputs] == ["u", "v"] and x.output_labels == ("u", "v")
    u, v = x.outputs
    assert (u.start, v.start) == ("du = 1", "dv = 1")
    assert final_totals(u) == {"x": 2, "y": 1}
    assert final_totals(v)["x"] == 1 and final_totals(v)["y"] == pytest.approx(COS2, abs=1e-15) and final_totals(v)["a"] == 1
    assert u.gradient == {"x": 2, "y": 1} and v.gradient["y"] == pytest.approx(COS2, abs=1e-15)
    assert [s.name for s in u.skipped] == ["a", "v"] and "does not feed u" in u.skipped[0].reason
    assert [s.name for s in v.skipped] == ["u"]
    # the forward pass is given once, for all outputs
    assert [line.text for line in x.forward][0] == "u = x * y = 2" and len(x.forward) == 3
    # the top level repeats the first output, as for a one-output program
    assert (x.output, x.output_name, x.start, x.gradient) == (U, "u", "du = 1", u.gradient)


def test_explain_paths_to_each_output():
    x = explain(gradcli.evaluate(UV, POINT), "y")
    u, v = x.outputs
    assert u.paths.count == 1 and [x.names[n] for n in u.paths.paths[0].nodes] == ["y", "u"]
    assert u.paths.sum == 1
    assert v.paths.count == 1 and [x.names[n] for n in v.paths.paths[0].nodes] == ["y", "a", "v"]
    assert v.paths.paths[0].factors == (pytest.approx(COS2, abs=1e-15), 1)
    assert v.paths.sum == v.paths.gradient == pytest.approx(COS2, abs=1e-15)
    # one tangent sweep from y: y->u, y->sin, sin->v; on a path to u 1 edge, to v 2
    assert u.paths.forward_edges == v.paths.forward_edges == 3
    assert (u.paths.path_edges, v.paths.path_edges) == (1, 2)
    assert (u.reverse_edges, v.reverse_edges) == (2, 3)


def test_explain_rendered_sections(run):
    code, out, err = run("explain", UV, "x=1", "y=2", "--wrt", "y", "--no-color")
    assert (code, err) == (0, "")
    order = ["forward pass", "  out u, v", "backward pass for u", "paths from y to u", "backward pass for v",
             "paths from y to v", "forward vs reverse mode"]
    positions = [out.index(title + "\n") for title in order]
    assert positions == sorted(positions)
    for expected in (
        "dx = du * 2 = 2", "dy = du * 1 = 1", "skipped a, v: does not feed u: its gradient is 0",
        f"dy = da * {num(COS2)} = {num(COS2)}", "y -> u: 1 = 1", "sum over 1 path = 1 = du/dy",
        f"y -> a -> v: {num(COS2)} * 1 = {num(COS2)}", f"sum over 1 path = {num(COS2)} = dv/dy",
        "2 inputs, 2 outputs", "forward mode: one tangent sweep per input, 2 sweeps for the whole Jacobian",
        "reverse mode: one backward sweep per output, 2 sweeps for the whole Jacobian",
        "both need 2 sweeps here", "--mode auto takes reverse mode here",
        "one reverse sweep from u: 2", "one reverse sweep from v: 3",
    ):
        assert expected in out, expected


def test_explain_one_selected_output(run):
    code, out, _ = run("explain", UV, "x=1", "y=2", "--wrt", "y", "--of", "v", "--no-color")
    assert code == 0
    assert "backward pass for v" in out and "backward pass for u" not in out and "paths from y to u" not in out
    assert "2 inputs, 2 outputs" in out  # the cost is the program's, whatever is shown
    x = explain(gradcli.evaluate(UV, POINT), "y", output="v")
    assert x.selected == "v" and [o.label for o in x.outputs] == ["v"] and x.output == V and x.output_name == "v"


@pytest.mark.parametrize(
    ("program", "point", "cheaper", "auto"),
    [
        ("out sin(x), x*x, exp(x)", {"x": 0.5}, "forward", "forward"),  # 1 input, 3 outputs
        ("out a*b*c, a+b+c", {"a": 1, "b": 2, "c": 3}, "reverse", "reverse"),  # 3 inputs, 2 outputs
        (UV, POINT, "equal", "reverse"),  # 2 and 2: choose_mode keeps reverse
        ("out 1, 2", {}, "none", "forward"),  # no inputs: choose_mode still sees 2 outputs > 1
    ],
)
def test_modes_follow_the_counts_and_choose_mode(program, point, cheaper, auto):
    x = explain(gradcli.evaluate(program, point))
    graph = gradcli.parse(program)
    modes = x.modes
    assert (modes.inputs, modes.outputs) == (len(graph.inputs), len(graph.outputs))
    assert (modes.forward_sweeps, modes.reverse_sweeps) == (len(graph.inputs), len(graph.outputs))
    assert modes.cheaper == cheaper and modes.auto == auto == choose_mode(len(graph.inputs), len(graph.outputs))
    if cheaper in ("forward", "reverse"):
        assert f"{cheaper} mode is cheaper here" in text_of(to_renderable(x))


def test_explain_jacobian_rows_of_a_tall_program():
    # 1 input, 3 outputs at x = 0.5: cos x, 2x, exp x.
    x = explain(gradcli.evaluate("out sin(x), x*x, exp(x)", {"x": 0.5}))
    rows = [o.gradient["x"] for o in x.outputs]
    assert rows == [pytest.approx(math.cos(0.5)), 1, pytest.approx(math.exp(0.5))]
    assert [o.paths.sum for o in x.outputs] == rows  # paths followed from the only input
    assert "  out sin(x), x*x, exp(x)  (stages a, b, c)" in text_of(to_renderable(x))


def test_cost_section_lists_ten_outputs_and_counts_the_rest():
    program = "; ".join(f"y{i} = x*{i + 1}" for i in range(12)) + "; out " + ", ".join(f"y{i}" for i in range(12))
    x = explain(gradcli.evaluate(program, {"x": 2}))
    assert [o.gradient["x"] for o in x.outputs] == list(range(1, 13))  # d(x*k)/dx = k
    text = text_of(to_renderable(x))
    assert "one reverse sweep from y9: 1" in text and "from y10:" not in text
    assert text.count("… and 2 more outputs (--json lists all)") == 2
    assert "backward pass for y11" in text  # every backward pass is still given


def test_explain_json(run):
    code, out, err = run("explain", UV, "x=1", "y=2", "--wrt", "y", "--json")
    assert (code, err) == (0, "")
    data = strict(out)
    assert data["command"] == "explain" and data["output_labels"] == ["u", "v"] and data["selected"] is None
    u, v = data["outputs"]
    assert (u["label"], u["node"], u["name"], u["value"]) == ("u", U, "u", 2)
    assert u["gradient"] == {"x": 2, "y": 1} and v["gradient"] == {"x": 1, "y": pytest.approx(COS2, abs=1e-15)}
    assert v["backward"]["start"] == "dv = 1" and v["paths"]["count"] == 1 and v["paths"]["wrt"] == "y"
    assert [s["name"] for s in v["backward"]["skipped"]] == ["u"]
    assert (data["backward"], data["gradient"], data["paths"]) == (u["backward"], u["gradient"], u["paths"])
    assert data["modes"] == {"inputs": 2, "outputs": 2, "forward_sweeps": 2, "reverse_sweeps": 2,
                             "cheaper": "equal", "auto": "reverse", "edges": 5, "reverse_edges": 2}
    code, out, _ = run("explain", UV, "x=1", "y=2", "--json", "--of", "v")
    data = strict(out)
    assert code == 0 and data["selected"] == "v" and [o["label"] for o in data["outputs"]] == ["v"]
    assert data["output"] == V and data["paths"] is None  # two inputs, no --wrt


def test_explain_json_strict_with_non_finite_numbers():
    data = explanation_to_dict(explain(gradcli.evaluate("out sqrt(x) + x, x", {"x": 0})))
    text = json.dumps(data, allow_nan=False)
    assert '"Infinity"' in text and data["outputs"][1]["gradient"] == {"x": 1}


def test_single_output_explanation_is_unchanged():
    x = explain(gradcli.evaluate("(a+b)*(b+1)", {"a": 2, "b": 1}), "b")
    assert len(x.outputs) == 1 and x.outputs[0].backward == x.backward and x.outputs[0].paths == x.paths
    text = text_of(to_renderable(x))
    assert "backward pass\n" in text and "paths from b to e\n" in text and "\n  out " not in text
    assert "for the whole gradient" in text and "--mode auto" not in text
    assert "skipped" not in text
    data = explanation_to_dict(x)
    assert data["output_labels"] == ["(a+b)*(b+1)"] and data["gradient"] == {"a": 2, "b": 5}


def test_explain_forward_mode_evaluation_gives_the_same_passes():
    reverse = explain(gradcli.evaluate(UV, POINT, mode="reverse"), "y")
    forward = explain(gradcli.evaluate(UV, POINT, mode="forward"), "y")
    assert [o.backward for o in forward.outputs] == [o.backward for o in reverse.outputs]
    assert [o.gradient for o in forward.outputs] == [o.gradient for o in reverse.outputs]


def test_deep_chain_with_two_outputs(default_recursion_limit):
    # d_k = sin(d_{k-1}) from d_0 = x: dd_k/dx is the product of cos(d_i) for i < k.
    depth = 3000
    program = "d0 = x\n" + "\n".join(f"d{i} = sin(d{i - 1})" for i in range(1, depth + 1))
    program += f"\nout d{depth}, d{depth // 2}"
    evaluation = gradcli.evaluate(program, {"x": 0.7})
    value, derivative, half = 0.7, 1.0, None
    for i in range(1, depth + 1):
        derivative *= math.cos(value)
        value = math.sin(value)
        if i == depth // 2:
            half = derivative
    x = explain(evaluation)
    assert [o.gradient["x"] for o in x.outputs] == [pytest.approx(derivative, rel=1e-9), pytest.approx(half, rel=1e-9)]
    assert [o.paths.count for o in x.outputs] == [1, 1]
    p = picture(evaluation)
    assert p.nodes[0].adjoints == (pytest.approx(derivative, rel=1e-9), pytest.approx(half, rel=1e-9))
    last = text_of(render_graph(p, max_nodes=0)).splitlines()[-2]  # then the legend
    assert last.startswith(f"d{depth // 2} = sin(d{depth // 2 - 1})") and last.endswith("(drawn above)")


# --------------------------------------------------------------------------------------
# The command line: errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["graph", "explain"])
def test_unknown_output_label_exits_2_with_did_you_mean(run, command):
    code, out, err = run(command, UV, "x=1", "y=2", "--of", "vv")
    assert code == 2 and out == ""
    assert "no output named vv" in err and "did you mean v?" in err and "Traceback" not in err
    code, out, err = run(command, UV, "x=1", "y=2", "--of", "vv", "--json")
    assert code == 2
    error = strict(out or err)["error"]
    assert "did you mean v?" in error["hint"]


@pytest.mark.parametrize("command", ["graph", "explain"])
def test_empty_output_label_exits_2(run, command):
    code, _, err = run(command, UV, "x=1", "y=2", "--of", " ")
    assert code == 2 and "--of needs an output" in err and "Traceback" not in err
