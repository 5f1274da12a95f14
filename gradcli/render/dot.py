"""The Graphviz DOT picture of a computational graph: `to_dot(picture) -> str`.

This module owns how a `Picture` looks in DOT: one DOT node per graph node
(ids n0, n1, ... from the node ids), one DOT edge per argument edge, and the
escaping that keeps any name or source text from breaking the syntax. Every
output is framed twice; nodes and edges no shown output uses are grey and
dashed.
"""

from __future__ import annotations

import re

from ..graph import format_number
from ..picture import Picture, PictureNode

# Attributes per role. Fixed text only: nothing here comes from the program,
# so none of it needs escaping.
_ROLE_STYLE = {
    "input": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbeafe", "color": "#1d4ed8"},
    "output": {
        "shape": "box", "style": "rounded,filled,bold", "peripheries": "2",  # a double border
        "fillcolor": "#fef3c7", "color": "#b45309",
    },
    "const": {"shape": "box", "style": "rounded", "fontsize": "9", "color": "#9ca3af"},
    "node": {"shape": "box", "style": "rounded", "color": "#111827"},
}
# Nodes and edges the output does not use: grey and dashed, whatever their role.
_UNUSED = {"color": "#9ca3af", "fontcolor": "#6b7280", "fillcolor": "#f3f4f6"}
_UNUSED_EDGE = {"style": "dashed", "color": "#9ca3af", "fontcolor": "#6b7280"}

# Any control character (newlines included) or Unicode line break: one label line,
# one comment line. Line breaks in labels are only the ones this module adds.
_BREAKS = re.compile(r"\r\n|[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """The text with every newline or other control character turned into a space."""
    return _BREAKS.sub(" ", text)


def title(picture: Picture, limit: int = 160) -> str:
    """The program on one line for a comment, shortened in the middle (programs may be megabytes)."""
    text = one_line(picture.program).strip()
    if len(text) > limit:
        text = text[: limit // 2] + " … " + text[-limit // 2 :]
    return text


def _escape(text: str) -> str:
    """Text safe inside a DOT quoted label, shown literally.

    A backslash is doubled because Graphviz reads \\n \\l \\r \\N \\G \\E \\T \\H \\L
    in labels; & becomes &amp; because Graphviz decodes HTML entities even in
    plain labels (so "&lt;" would otherwise show as "<").
    """
    text = one_line(text).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("&", "&amp;")


def _attributes(lines: list[str], style: dict[str, str]) -> str:
    # Each label line is escaped on its own; "\n" (centred line break) is ours alone.
    label = "\\n".join(_escape(line) for line in lines)
    return ", ".join([f'label="{label}"'] + [f'{key}="{value}"' for key, value in style.items()])


def node_lines(node: PictureNode, wrt: str | None, picture: Picture | None = None) -> list[str]:
    """What a node shows: label, op, value, adjoint and, with a wrt input, the tangent.

    In a program with several outputs, one `adjoint(u) = ...` line per output
    shown, and an output node also says which output it is.
    """
    lines = [node.label, node.op, f"value = {format_number(node.value)}"]
    if picture is not None and len(picture.outputs) > 1 and len(node.adjoints) == len(picture.outputs):
        labels = picture.output_labels
        lines += [f"adjoint({labels[k]}) = {format_number(node.adjoints[k])}" for k in picture.shown]
    else:
        lines.append(f"adjoint = {format_number(node.adjoint)}")
    if wrt is not None and node.tangent is not None:
        lines.append(f"d/d{wrt} = {format_number(node.tangent)}")
    if picture is not None and len(picture.outputs) > 1 and node.role == "output":
        names = picture.output_names(node.id)
        lines.append(f"output{'s' if len(names) > 1 else ''} {', '.join(names)}")
    return lines


def to_dot(picture: Picture) -> str:
    """The picture as a Graphviz DOT digraph, laid out left to right."""
    feeds = {node.id: node.feeds_output for node in picture.nodes}
    out = [
        f"// gradcli graph: {title(picture)}",  # a // comment ends only at a newline
        "digraph gradcli {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in picture.nodes:
        style = dict(_ROLE_STYLE.get(node.role, _ROLE_STYLE["node"]))
        if not node.feeds_output:
            style.update(_UNUSED, style=style["style"] + ",dashed")
        # int(): an id is a number, never text that could carry DOT syntax.
        out.append(f"  n{int(node.id)} [{_attributes(node_lines(node, picture.wrt, picture), style)}];")
    # A multigraph (no "strict"), so x*x keeps both of its edges.
    for edge in picture.edges:
        style = {} if feeds.get(edge.target, True) else _UNUSED_EDGE
        attributes = _attributes([format_number(edge.partial)], style)
        out.append(f"  n{int(edge.source)} -> n{int(edge.target)} [{attributes}];")
    out.append("}")
    return "\n".join(out) + "\n"
