"""The Mermaid picture of a computational graph: `to_mermaid(picture) -> str`.

This module owns how a `Picture` looks as a Mermaid `flowchart LR`: node ids
n0, n1, ... from the node ids, every label in double quotes and written with
Mermaid entity codes, so that no name or source text can break the syntax.
A node shows the same lines as in the DOT picture.
"""

from __future__ import annotations

import re

from ..graph import format_number
from ..picture import Picture
from .dot import node_lines, one_line, title

# Characters written as themselves; every other one becomes an entity code.
# Why a whitelist: inside a quoted label Mermaid still reads `"`, `#...;`
# entities, HTML (`<`, `&`), `%%{...}%%` directives (found anywhere in the
# text), `$$` maths, a leading backtick (markdown), and it strips the last `;`
# of any line matching `style.*:...#.*;`; so none of `" # < & % $ ` : ;` is here.
_PLAIN = re.compile(r"[A-Za-z0-9 _.,+\-*/^=()!?]")
_NAMED = {'"': "#quot;", "<": "#lt;", ">": "#gt;"}

# Node shapes per role: (opening, closing) around the quoted label.
_SHAPES = {"input": ('(["', '"])'), "output": ('[["', '"]]'), "const": ('["', '"]'), "node": ('["', '"]')}

# Styles are fixed text; a node gets its role's class and, if the output does
# not use it, "unused" too (defined last, so it wins).
_CLASSES = [
    ("input", "fill:#dbeafe,stroke:#1d4ed8"),
    ("output", "fill:#fef3c7,stroke:#b45309,stroke-width:3px"),
    ("const", "fill:#ffffff,stroke:#9ca3af,font-size:11px"),
    ("inner", "fill:#ffffff,stroke:#111827"),  # "node" is not used as a class name
    ("unused", "fill:#f3f4f6,stroke:#9ca3af,color:#6b7280,stroke-dasharray:5 5"),
]
_CLASS_OF_ROLE = {"input": "input", "output": "output", "const": "const", "node": "inner"}


def _escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label, shown literally (Mermaid decodes #...; codes)."""
    return "".join(
        c if _PLAIN.fullmatch(c) else _NAMED.get(c, f"#{ord(c)};") for c in one_line(text)
    )


def _label(lines: list[str]) -> str:
    # <br> is Mermaid's own line break, written here only, never taken from the program.
    return "<br>".join(_escape(line) for line in lines)


def to_mermaid(picture: Picture) -> str:
    """The picture as a Mermaid flowchart, laid out left to right."""
    feeds = {node.id: node.feeds_output for node in picture.nodes}
    # One line, and no "%" so that no "%%{...}%%" directive can get in.
    comment = title(picture).replace("%", "#37;")
    out = [f"%% gradcli graph: {comment}", "flowchart LR"]
    members: dict[str, list[str]] = {name: [] for name, _ in _CLASSES}
    for node in picture.nodes:
        ident = f"n{int(node.id)}"  # int(): an id is a number, never text
        role = node.role if node.role in _SHAPES else "node"
        opening, closing = _SHAPES[role]
        out.append(f"    {ident}{opening}{_label(node_lines(node, picture.wrt, picture))}{closing}")
        members[_CLASS_OF_ROLE[role]].append(ident)
        if not node.feeds_output:
            members["unused"].append(ident)
    # One line per edge, so x*x shows both; dotted where the output does not use the target.
    for edge in picture.edges:
        arrow = "-->" if feeds.get(edge.target, True) else "-.->"
        partial = _label([format_number(edge.partial)])
        out.append(f'    n{int(edge.source)} {arrow}|"{partial}"| n{int(edge.target)}')
    for name, style in _CLASSES:
        out.append(f"    classDef {name} {style}")
    for name, _ in _CLASSES:
        if members[name]:
            out.append(f"    class {','.join(members[name])} {name}")
    return "\n".join(out) + "\n"
