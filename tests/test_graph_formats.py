"""The DOT and Mermaid pictures of a graph: what they show, and that no label can break them.

DOT is checked by Graphviz itself (`dot -Tjson`, `dot -Tsvg`): what it parses,
how many nodes and edges it finds and the text it draws. Mermaid is checked
line by line against a strict grammar of what the renderer may emit, and its
labels are decoded the way Mermaid decodes its #...; entity codes.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import gradcli
from gradcli.picture import Picture, PictureEdge, PictureNode, picture
from gradcli.render.dot import to_dot
from gradcli.render.mermaid import to_mermaid

OLAH = "(a+b)*(b+1)"


def olah(wrt=None):
    return picture(gradcli.evaluate(OLAH, {"a": 2, "b": 1}, wrt=wrt))


@pytest.fixture
def dot():
    """Graphviz's dot: skip without it, except under CI, which installs Graphviz and must run these."""
    path = shutil.which("dot")
    if path is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail("Graphviz `dot` is not installed, but CI is set: CI must install Graphviz")
        pytest.skip("Graphviz `dot` is not installed")
    return path


def run_dot(dot, source, fmt):
    done = subprocess.run([dot, f"-T{fmt}"], input=source, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Warning:" not in done.stderr and "Error:" not in done.stderr, done.stderr
    return done.stdout


def drawn(dot, source):
    """What Graphviz made of DOT text: {name: (attributes, lines drawn)} and [(tail, head, attributes, lines)]."""
    data = json.loads(run_dot(dot, source, "json"))
    objects = data.get("objects", [])

    def lines(item):
        return [op["text"] for op in item.get("_ldraw_", []) if op["op"] == "T"]

    nodes = {item["name"]: (item, lines(item)) for item in objects}
    names = [item["name"] for item in objects]
    edges = [(names[e["tail"]], names[e["head"]], e, lines(e)) for e in data.get("edges", [])]
    assert len(nodes) == len(objects)  # no node named twice
    return nodes, edges


# Mermaid: everything the renderer may write, one kind of line each.
M_COMMENT = re.compile(r"^%% gradcli graph: [^%\n]*$")
M_NODE = re.compile(r'^    (n\d+)(\(\[|\[\[|\[)"([^"]*)"(\]\)|\]\]|\])$')
M_EDGE = re.compile(r'^    (n\d+) (-->|-\.->)\|"([^"]*)"\| (n\d+)$')
M_CLASSDEF = re.compile(r"^    classDef [a-z]+ [a-z0-9:#, .-]+$")
M_CLASS = re.compile(r"^    class (n\d+(?:,n\d+)*) ([a-z]+)$")
SHAPES = {"([": "])", "[[": "]]", "[": "]"}
# Label text: plain characters or #...; entity codes, lines split by our <br>.
M_LABEL_TEXT = re.compile(r"^(?:[A-Za-z0-9 _.,+\-*/^=()!?]|#[A-Za-z0-9]+;)*$")


def decode(text):
    """A Mermaid label as shown: lines at <br>, #name; and #123; codes decoded."""
    lines = text.split("<br>")
    for line in lines:
        assert M_LABEL_TEXT.match(line), f"raw special character in Mermaid label {line!r}"

    def entity(m):
        return html.unescape(f"&#{m[1]};" if m[1].isdigit() else f"&{m[1]};")

    return [re.sub(r"#([A-Za-z0-9]+);", entity, line) for line in lines]


def parse_mermaid(text):
    """Check every line of a Mermaid picture; return its nodes, edges and classes."""
    lines = text.split("\n")
    assert lines[-1] == "" and M_COMMENT.match(lines[0]) and lines[1] == "flowchart LR", lines[:2]
    nodes, edges, classes = {}, [], {}
    for line in lines[2:-1]:
        if m := M_NODE.match(line):
            assert SHAPES[m[2]] == m[4] and m[1] not in nodes, line
            nodes[m[1]] = (m[2], decode(m[3]))
        elif m := M_EDGE.match(line):
            edges.append((m[1], m[4], m[2], decode(m[3])))
        elif m := M_CLASS.match(line):
            classes.setdefault(m[2], set()).update(m[1].split(","))
        else:
            assert M_CLASSDEF.match(line), f"unexpected Mermaid line {line!r}"
    assert all(a in nodes and b in nodes for a, b, _, _ in edges)
    return nodes, edges, classes


def test_olah_example_in_graphviz(dot):
    nodes, edges = drawn(dot, to_dot(olah()))
    assert len(nodes) == 6 and len(edges) == 6  # a, b, a+b, the literal 1, b+1, the product
    assert nodes["n1"][1] == ["b", "input", "value = 1", "adjoint = 5"]
    assert nodes["n5"][1] == ["(a+b)*(b+1)", "mul", "value = 6", "adjoint = 1"]
    partials = {(tail, head): lines for tail, head, _, lines in edges}
    assert partials[("n2", "n5")] == ["2"] and partials[("n4", "n5")] == ["3"]
    assert partials[("n0", "n2")] == ["1"]
    svg = ET.fromstring(run_dot(dot, to_dot(olah()), "svg"))
    groups = [g.get("class") for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    assert groups.count("node") == 6 and groups.count("edge") == 6


def test_dot_layout_and_comment():
    text = to_dot(picture(gradcli.evaluate("x = 2 # a // b \\ c\ny = x*3", {})))
    first, rest = text.split("\n", 1)
    assert first == "// gradcli graph: x = 2 # a // b \\ c y = x*3"  # the program, on one line
    assert rest.startswith("digraph gradcli {\n  rankdir=LR;\n")


def test_olah_example_in_mermaid():
    nodes, edges, _ = parse_mermaid(to_mermaid(olah()))
    assert len(nodes) == 6 and len(edges) == 6
    assert nodes["n1"] == ("([", ["b", "input", "value = 1", "adjoint = 5"])
    assert nodes["n5"] == ("[[", ["(a+b)*(b+1)", "mul", "value = 6", "adjoint = 1"])
    assert ("n2", "n5", "-->", ["2"]) in edges and ("n4", "n5", "-->", ["3"]) in edges


def test_repeated_argument_draws_two_edges(dot):
    p = picture(gradcli.evaluate("x*x", {"x": 3}))
    nodes, edges = drawn(dot, to_dot(p))
    assert len(nodes) == 2 and [(t, h, lines) for t, h, _, lines in edges] == [("n0", "n1", ["3"])] * 2
    _, m_edges, _ = parse_mermaid(to_mermaid(p))
    assert m_edges == [("n0", "n1", "-->", ["3"])] * 2


def test_tangents_only_with_wrt(dot):
    plain, with_b = olah(), olah(wrt="b")
    for nodes in (drawn(dot, to_dot(plain))[0], parse_mermaid(to_mermaid(plain))[0]):
        assert not any(line.startswith("d/d") for _, lines in nodes.values() for line in lines)
    expected = {"n0": "d/db = 0", "n1": "d/db = 1", "n2": "d/db = 1", "n5": "d/db = 5"}
    for nodes in (drawn(dot, to_dot(with_b))[0], parse_mermaid(to_mermaid(with_b))[0]):
        assert len(nodes) == 6
        for name, line in expected.items():
            assert nodes[name][1][-1] == line


def test_roles_and_unused_nodes_look_different(dot):
    p = picture(gradcli.evaluate("u = x*2; y = x+1", {"x": 2}))  # u does not feed the output y
    nodes, edges = drawn(dot, to_dot(p))
    attrs = {name: item for name, (item, _) in nodes.items()}
    assert attrs["n0"]["shape"] == "ellipse" and "filled" in attrs["n0"]["style"]  # input x
    assert attrs["n4"]["peripheries"] == "2" and "bold" in attrs["n4"]["style"]  # output y
    assert attrs["n3"]["fontsize"] != attrs["n4"].get("fontsize", "11")  # the literal 1: small
    assert "dashed" in attrs["n2"]["style"] and "dashed" in attrs["n1"]["style"]  # u and its 2
    assert not any("dashed" in attrs[n]["style"] for n in ("n0", "n3", "n4"))
    styles = {(t, h): e.get("style", "") for t, h, e, _ in edges}
    assert styles[("n0", "n2")] == "dashed" and styles[("n0", "n4")] != "dashed"

    m_nodes, m_edges, classes = parse_mermaid(to_mermaid(p))
    assert [m_nodes[n][0] for n in ("n0", "n2", "n4")] == ["([", "[", "[["]
    assert classes["input"] == {"n0"} and classes["output"] == {"n4"} and classes["unused"] == {"n1", "n2"}
    assert "n3" in classes["const"] and "n2" in classes["inner"]
    arrows = {(a, b): arrow for a, b, arrow, _ in m_edges}
    assert arrows[("n0", "n2")] == "-.->" and arrows[("n0", "n4")] == "-->"


def test_staged_program_shows_names(dot):
    p = picture(gradcli.evaluate("c = a + b; d = b + 1; e = c * d", {"a": 2, "b": 1}))
    firsts = {lines[0] for _, lines in drawn(dot, to_dot(p))[0].values()}
    assert {"c", "d", "e"} <= firsts
    m_firsts = {lines[0] for _, lines in parse_mermaid(to_mermaid(p))[0].values()}
    assert {"c", "d", "e"} <= m_firsts
    assert parse_mermaid(to_mermaid(p))[0]["n5"][1][:3] == ["e", "mul", "value = 6"]


def test_output_is_deterministic():
    assert to_dot(olah("b")) == to_dot(olah("b")) and to_mermaid(olah("b")) == to_mermaid(olah("b"))
    script = (
        "import gradcli; from gradcli.picture import picture; from gradcli.render.dot import to_dot;"
        "from gradcli.render.mermaid import to_mermaid;"
        "p = picture(gradcli.evaluate('u = x*2; y = x+1', {'x': 2}, wrt='x'));"
        "print(to_dot(p) + to_mermaid(p))"
    )
    outputs = set()
    for seed in ("1", "2"):  # a set or dict iterated where order matters would differ between seeds
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


HOSTILE = [
    'a"b',
    "<b>x</b>",
    "{x|y}",
    "#quot;",
    "back\\slash\\n",
    "x\ny",
    "];node [shape=box",
    '-->|"evil"| n0',
    "&amp; &lt; & ;",
    "ends in backslash\\",
    "\\N \\G \\E \\T \\H \\L \\l \\r",
    '%%{init: {"theme":"dark"}}%%',
    "`**markdown**`",
    "$$x^2$$",
    "style n0 fill:#f00;",
    "// not a comment /* nor this */",
    "Δx → ∞",
]


def hostile_picture():
    """One node per hostile text (as name, or as text with the op hostile too), chained, plus a double edge."""
    nodes = []
    for i, text in enumerate(HOSTILE):
        named = i % 2 == 0
        role = ("input", "node", "const", "node")[i % 4] if i < len(HOSTILE) - 1 else "output"
        nodes.append(
            PictureNode(i, text if named else None, "x" if named else text, "mul" if named else text,
                        role, float(i), float("inf") if i == 3 else 2.0, float("nan") if i == 5 else 3.0,
                        i != 7)
        )
    edges = [PictureEdge(i, i + 1, 0, float(-i)) for i in range(len(HOSTILE) - 1)]
    edges.append(PictureEdge(0, len(HOSTILE) - 1, 1, float("-inf")))
    edges.append(PictureEdge(0, len(HOSTILE) - 1, 2, 0.5))
    program = "\n".join(HOSTILE)
    return Picture(program, {}, nodes, edges, len(HOSTILE) - 1, 'w"<#>\n;')


def expected_lines(node):
    """A node's lines as a person should read them: newlines in the program's text become spaces."""
    value = "value = " + ("inf" if node.adjoint == float("inf") else "2")
    tangent = "d/dw\"<#> ; = " + ("nan" if node.tangent != node.tangent else "3")
    return [node.label.replace("\n", " "), node.op.replace("\n", " "), f"value = {int(node.value)}",
            value.replace("value", "adjoint"), tangent]


def test_hostile_labels_in_graphviz(dot):
    p = hostile_picture()
    text = to_dot(p)
    assert text.split("\n", 1)[0].startswith("// gradcli graph: ") and text.count("\n// ") == 0
    nodes, edges = drawn(dot, text)
    assert sorted(nodes) == sorted(f"n{i}" for i in range(len(HOSTILE)))  # no node injected, none lost
    assert len(edges) == len(p.edges)
    for node in p.nodes:
        assert nodes[f"n{node.id}"][1] == expected_lines(node)
    last = f"n{len(HOSTILE) - 1}"
    assert sorted((t, h, lines[0]) for t, h, _, lines in edges if h == last) == [
        ("n0", last, "-inf"), ("n0", last, "0.5"), (f"n{len(HOSTILE) - 2}", last, "-15")]
    assert ("n1", "n2", ["-1"]) in [(t, h, lines) for t, h, _, lines in edges]
    assert "dashed" in nodes["n7"][0]["style"] and "dashed" not in nodes["n6"][0]["style"]
    svg = ET.fromstring(run_dot(dot, text, "svg"))  # the SVG is well-formed XML, whatever the labels
    groups = [g.get("class") for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    assert groups.count("node") == len(HOSTILE) and groups.count("edge") == len(p.edges)


def test_hostile_labels_in_mermaid():
    p = hostile_picture()
    text = to_mermaid(p)
    body = text.split("\n", 1)[1]  # the comment may show the program; Mermaid drops it
    assert "%" not in text[2:] and "$$" not in body and "`" not in body
    nodes, edges, classes = parse_mermaid(text)
    assert sorted(nodes) == sorted(f"n{i}" for i in range(len(HOSTILE)))
    assert len(edges) == len(p.edges) == body.count("-->") + body.count("-.->")
    for node in p.nodes:
        assert nodes[f"n{node.id}"][1] == expected_lines(node)
    assert [lines for _, _, _, lines in edges[-2:]] == [["-inf"], ["0.5"]]
    assert classes["unused"] == {"n7"} and classes["output"] == {f"n{len(HOSTILE) - 1}"}
