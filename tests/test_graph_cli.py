"""`gradcli graph` through the command line: terminal snapshots, formats, files, errors.

The terminal snapshots are the seed examples (values, edge derivatives and
adjoints as in seed-examples.md) drawn at a fixed width with colour off.
The DOT and Mermaid writers themselves are tested in test_graph_formats.py.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import sys

import pytest

from gradcli.cli import main

OLAH_STAGED = "c = a + b; d = b + 1; e = c * d"

# seed-examples.md, example 1: c = 3, d = 2, e = 6; de/dc = 2, de/dd = 3; adjoints a 2, b 5, c 2, d 3.
OLAH_SNAPSHOT = """\
e = c * d  mul  value 6  adjoint 1  ◀ output
├── [×2] c = a + b  add  value 3  adjoint 2
│   ├── [×1] a  input  value 2  adjoint 2
│   └── [×1] b  input  value 1  adjoint 5
└── [×3] d = b + 1  add  value 2  adjoint 3
    ├── [×1] b  (shared: drawn above)
    └── [×1] 1
[×p]: d(node above)/d(this node), the edge's local derivative; adjoint: d(output)/d(node)
"""

# Forward mode from b (seed 1): db/db = 1, dc/db = 1, dd/db = 1, de/db = 5; a's tangent is 0.
HEADLINE_WRT_B_SNAPSHOT = """\
(a+b)*(b+1)  mul  value 6  adjoint 1  d/db 5  ◀ output
├── [×2] a+b  add  value 3  adjoint 2  d/db 1
│   ├── [×1] a  input  value 2  adjoint 2  d/db 0
│   └── [×1] b  input  value 1  adjoint 5  d/db 1
└── [×3] b+1  add  value 2  adjoint 3  d/db 1
    ├── [×1] b  (shared: drawn above)
    └── [×1] 1
[×p]: d(node above)/d(this node), the edge's local derivative; adjoint: d(output)/d(node); d/db: tangent
"""


@pytest.fixture
def run(capsys, monkeypatch):
    """main(argv) with a fixed terminal width and no colour: (exit code, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", "110")
    monkeypatch.delenv("FORCE_COLOR", raising=False)

    def invoke(*argv, env: dict | None = None):
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def needs_dot():
    if shutil.which("dot") is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("Graphviz's dot is not installed, and CI must install it (.ci/run)")
        pytest.skip("Graphviz's dot is not installed")


def test_terminal_snapshot_of_olahs_staged_example(run):
    code, out, err = run("graph", OLAH_STAGED, "a=2", "b=1", "--no-color")
    assert (code, err) == (0, "")
    assert out == OLAH_SNAPSHOT


def test_terminal_snapshot_with_forward_mode_tangents(run):
    code, out, _ = run("graph", "(a+b)*(b+1)", "a=2", "b=1", "--wrt", "b", "--no-color")
    assert code == 0
    assert out == HEADLINE_WRT_B_SNAPSHOT


def test_terminal_output_has_no_escape_codes_with_no_color_env(run):
    code, out, _ = run("graph", OLAH_STAGED, "a=2", "b=1", env={"NO_COLOR": "1"})
    assert code == 0 and "\x1b" not in out and out == OLAH_SNAPSHOT


def test_statements_the_output_does_not_use_are_listed(run):
    code, out, _ = run("graph", "u = x*2; y = x*x + 1", "x=3", "--no-color")
    assert code == 0
    assert "not used by the output (adjoint 0): u" in out
    assert "[×3] x  input  value 3  adjoint 6" in out  # d(x*x)/dx = 2x = 6, each edge x = 3


def test_big_graph_is_summarised_with_a_way_to_see_it(run):
    program = "; ".join(f"t{i} = sin(t{i - 1}) + x" if i else "t0 = x" for i in range(60))
    code, out, _ = run("graph", program, "x=0.5", "--no-color")
    assert code == 0
    # x, t0 = x (an id node), then a sin and an add node per line: 1 + 1 + 2*59 nodes;
    # edges: 1 into the id node, then 1 into each sin and 2 into each add.
    assert "120 nodes, 178 edges" in out
    assert "longest path to the output: 119 edges" in out
    assert "operations: sin 59, add 59, id 1" in out
    assert "--max-nodes 0" in out and "--format dot" in out

    wide = "max(" + ", ".join(f"sin({k}*x)" for k in range(1, 51)) + ")"  # 151 nodes, 4 levels
    code, out, _ = run("graph", wide, "x=0.5", "--no-color")
    assert code == 0 and "nodes to draw" in out and "sin  value" not in out
    code, full, _ = run("graph", wide, "x=0.5", "--no-color", "--max-nodes", "0")
    assert code == 0 and full.count("sin  value") == 50 and full.count("mul  value") == 50


def test_deep_graph_draws_without_recursion(run):
    depth = 20_000
    program = "(" * depth + "x" + "+1)" * depth
    code, out, _ = run("graph", program, "x=1", "--no-color")  # summary
    assert code == 0 and f"longest path to the output: {depth} edges" in out
    code, out, _ = run("graph", program, "x=1", "--format", "dot")
    assert code == 0 and out.count("->") == 2 * depth


def test_json_lists_every_node_and_edge(run):
    code, out, _ = run("graph", OLAH_STAGED, "a=2", "b=1", "--json", "--wrt", "a")
    assert code == 0
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert data["command"] == "graph" and data["wrt"] == "a"
    by_name = {node["name"]: node for node in data["nodes"] if node["name"]}
    assert {n: by_name[n]["adjoint"] for n in "abcde"} == {"a": 2, "b": 5, "c": 2, "d": 3, "e": 1}
    assert by_name["e"]["role"] == "output" and by_name["a"]["role"] == "input"
    assert by_name["e"]["tangent"] == 2  # de/da
    partials = {(data["nodes"][e["source"]]["name"], data["nodes"][e["target"]]["name"]): e["partial"] for e in data["edges"]}
    assert partials[("c", "e")] == 2 and partials[("d", "e")] == 3
    assert len(data["edges"]) == 6


def test_svg_file_from_the_extension(run, tmp_path):
    needs_dot()
    target = tmp_path / "e.svg"
    code, out, err = run("graph", OLAH_STAGED, "a=2", "b=1", "-o", str(target))
    assert (code, out) == (0, "")
    assert f"wrote {target}" in err
    svg = target.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert svg.count('class="node"') == 6 and svg.count('class="edge"') == 6


def test_png_file(run, tmp_path):
    needs_dot()
    target = tmp_path / "e.png"
    code, _, _ = run("graph", OLAH_STAGED, "a=2", "b=1", "-o", str(target))
    assert code == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mermaid_markdown_file_is_fenced(run, tmp_path):
    target = tmp_path / "graph.md"
    code, _, _ = run("graph", OLAH_STAGED, "a=2", "b=1", "-o", str(target))
    assert code == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("```mermaid\n") and text.rstrip().endswith("```")
    assert "flowchart LR" in text


def test_without_graphviz_the_error_says_how_to_get_a_picture(run, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    target = tmp_path / "e.svg"
    code, out, err = run("graph", OLAH_STAGED, "a=2", "b=1", "-o", str(target))
    assert code == 2 and out == ""
    assert "dot" in err and "not installed" in err and "apt-get install graphviz" in err and "--format dot" in err
    assert not target.exists()
    code, out, err = run("graph", OLAH_STAGED, "a=2", "b=1", "--format", "png")
    assert code == 2 and out == "" and "cannot draw PNG" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-o", "graph.xyz"], "cannot tell the format"),
        (["--json", "--format", "dot"], "--json and --format"),
        (["--wrt", "q"], "no input named q"),
    ],
)
def test_option_errors(run, argv, message, tmp_path):
    code, out, err = run("graph", OLAH_STAGED, "a=2", "b=1", *argv)
    assert code == 2 and message in err
    if "--json" in argv:  # the error as JSON on stdout, and nothing else
        assert message in json.loads(out)["error"]["message"]
    else:
        assert out == ""


def test_unwritable_output_path(run, tmp_path):
    code, out, err = run("graph", OLAH_STAGED, "a=2", "b=1", "-o", str(tmp_path / "missing" / "g.dot"))
    assert code == 2 and out == "" and "cannot write" in err


def test_syntax_error_has_a_caret_and_no_output(run):
    code, out, err = run("graph", "a +* b", "a=1", "b=2")
    assert code == 2 and out == ""
    assert "^" in err


@pytest.mark.skipif(sys.platform == "win32", reason="console script path")
def test_graph_is_listed_in_help(run):
    code, out, _ = run("--help")
    assert code == 0 and "graph" in out and "explain" in out


def test_the_readme_picture_is_up_to_date(run, tmp_path):
    """samples/olah.svg is regenerated by the command the README gives; its text must match."""
    needs_dot()
    samples = os.path.join(os.path.dirname(__file__), os.pardir, "samples")
    fresh = tmp_path / "olah.svg"
    code, _, _ = run("graph", "-f", os.path.join(samples, "olah.grad"), "a=2", "b=1", "--wrt", "b", "-o", str(fresh))
    assert code == 0

    def texts(svg: str) -> list[str]:  # what the picture says, whatever Graphviz's layout version
        return re.findall(r"<text[^>]*>([^<]*)</text>", svg)

    with open(os.path.join(samples, "olah.svg"), encoding="utf-8") as committed:
        assert texts(committed.read()) == texts(fresh.read_text(encoding="utf-8"))
    assert "adjoint = 5" in texts(fresh.read_text(encoding="utf-8"))


# -- gradcli explain through the command line ------------------------------------------


def test_explain_olah_from_the_command_line(run):
    code, out, err = run("explain", "(a+b)*(b+1)", "a=2", "b=1", "--wrt", "b", "--no-color")
    assert (code, err) == (0, "")
    # seed 1: c = 3, d = 2, e = 6; dc = 2, dd = 3; db sums the two paths, 1*2 + 1*3 = 5
    for line in ("c = a + b = 3", "d = b + 1 = 2", "e = c * d = 6", "dc = de * 2 = 2", "dd = de * 3 = 3",
                 "db += dc * 1 = 5", "b -> c -> e: 1 * 2 = 2", "b -> d -> e: 1 * 3 = 3"):
        assert line in out


def test_explain_json_is_strict_and_complete(run):
    code, out, _ = run("explain", "2*(x*y + max(z, w))", "x=3", "y=-4", "z=2", "w=-1", "--wrt", "w", "--json")
    assert code == 0
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert data["schema_version"] == 1 and data["command"] == "explain"
    assert data["gradient"] == {"x": -8, "y": 6, "z": 2, "w": 0}  # seed 2
    assert data["paths"]["count"] == 1 and data["paths"]["sum"] == 0  # max routes nothing to w


def test_explain_errors(run):
    code, out, err = run("explain", "(a+b)*(b+1)", "a=2", "b=1", "--wrt", "q")
    assert code == 2 and out == "" and "no input named q" in err
    code, out, err = run("explain", "(a+b", "a=2")
    assert code == 2 and out == "" and "never closed" in err


def test_explain_cuts_long_passes(run):
    program = "; ".join(f"t{i} = sin(t{i - 1})" if i else "t0 = sin(x)" for i in range(200))
    code, out, _ = run("explain", program, "x=0.5", "--no-color", "--max-lines", "10")
    assert code == 0 and "t199 = sin(t198)" in out and "t100 = sin(t99)" not in out
    code, out, _ = run("explain", program, "x=0.5", "--no-color", "--max-lines", "0")
    assert "t100 = sin(t99)" in out
