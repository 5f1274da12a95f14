"""The computational graph in the terminal: a tree grown from the output.

Reading from the output down is reading the backward pass: each line is a
node with its value and adjoint, and `[×p]` in front of it is the local
derivative of the node above with respect to it, the factor the gradient is
multiplied by on its way down that edge. The graph is a DAG, so a node used
twice is drawn once; later uses point back to it. Graphs beyond a few dozen
nodes get a summary instead, with the commands that draw them in full.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from ..graph import format_number
from ..picture import Picture, PictureNode

DEFAULT_MAX_NODES = 40


def render_graph(picture: Picture, max_nodes: int = DEFAULT_MAX_NODES):
    """A rich renderable: the trees, or a summary when more than `max_nodes` nodes feed the outputs (0: no limit)."""
    drawn = sum(1 for node in picture.nodes if node.feeds_output)
    if max_nodes and drawn > max_nodes:
        return _summary(picture, drawn, max_nodes)
    return Group(*_trees(picture), *_unused(picture), _legend(picture))


def _roots(picture: Picture) -> list[int]:
    """The output nodes to grow trees from, in `out` order, each once (`out u, (u)` is one tree)."""
    if not picture.outputs:  # a Picture built without outputs: the one output
        return [picture.output]
    return list(dict.fromkeys(picture.outputs[k] for k in picture.shown))


def _adjoint_text(node: PictureNode, picture: Picture) -> str:
    # Named after its output whenever the program has several, so no line can be misread.
    if len(picture.outputs) <= 1 or len(node.adjoints) != len(picture.outputs):
        return f"  adjoint {format_number(node.adjoint)}"
    return "".join(
        f"  adjoint({picture.output_labels[k]}) {format_number(node.adjoints[k])}" for k in picture.shown
    )


def _output_mark(node: PictureNode, picture: Picture) -> str:
    """`◀ output` in a one-output program; with several (even if one is shown), which ones the node is."""
    names = picture.output_names(node.id)
    if len(picture.outputs) <= 1 or not names:
        return "  ◀ output"
    return f"  ◀ output{'s' if len(names) > 1 else ''} " + ", ".join(names)


def _node_text(node: PictureNode, picture: Picture, partial: float | None) -> Text:
    text = Text()
    if partial is not None:
        text.append(f"[×{format_number(partial)}] ", style="dim")
    if node.op == "const" and node.name is None and node.role != "output":  # an output shows its line in full
        return text.append(node.text, style="magenta")
    text.append(node.label, style="bold green" if node.role == "input" else "bold")
    if node.name is not None and node.op not in ("input", "const"):
        text.append(f" = {node.text}")
    text.append(f"  {node.op}", style="cyan")
    text.append(f"  value {format_number(node.value)}")
    text.append(_adjoint_text(node, picture), style="yellow")
    if node.tangent is not None:
        text.append(f"  d/d{picture.wrt} {format_number(node.tangent)}", style="blue")
    if node.role == "output":
        text.append(_output_mark(node, picture), style="bold")
    return text


def _trees(picture: Picture) -> list[Tree | Text]:
    """One tree per output shown; `shown` is shared, so each node is drawn in full once."""
    nodes = picture.nodes
    args_of: dict[int, list] = {node.id: [] for node in nodes}
    for edge in picture.edges:
        args_of[edge.target].append(edge)
    trees: list[Tree | Text] = []
    shown: set[int] = set()
    for output in _roots(picture):
        if output in shown:  # an output that an earlier output uses: drawn in that tree
            pointer = _node_text(nodes[output], picture, None)
            pointer.append("  (drawn above)", style="dim italic")
            trees.append(pointer)
            continue
        root = Tree(_node_text(nodes[output], picture, None), guide_style="dim")
        shown.add(output)
        # Pre-order with an explicit stack (graphs may be 10^5 deep); children are
        # pushed in reverse so they print in argument order, and a node's first
        # appearance is always printed before any "shown above" pointer to it.
        stack = [(root, edge) for edge in reversed(args_of[output])]
        while stack:
            parent, edge = stack.pop()
            node = nodes[edge.source]
            literal = node.op == "const" and node.name is None
            if node.id in shown and not literal:
                pointer = Text(f"[×{format_number(edge.partial)}] ", style="dim")
                pointer.append(node.label, style="bold")
                pointer.append("  (shared: drawn above)", style="dim italic")
                parent.add(pointer)
                continue
            shown.add(node.id)
            branch = parent.add(_node_text(node, picture, edge.partial))
            stack.extend((branch, child) for child in reversed(args_of[node.id]))
        trees.append(root)
    return trees


def _unused(picture: Picture) -> list[Text]:
    unused = [node for node in picture.nodes if not node.feeds_output and node.op != "const"]
    if not unused:
        return []
    names = ", ".join(node.label for node in unused)
    if picture.several:
        whom = "any output"
    elif picture.selected is not None and len(picture.outputs) > 1:
        whom = picture.output_labels[picture.selected]
    else:
        whom = "the output"
    return [Text(f"not used by {whom} (adjoint 0): {names}", style="dim")]


def _legend(picture: Picture) -> Text:
    legend = "[×p]: d(node above)/d(this node), the edge's local derivative; "
    if picture.several:
        first = picture.output_labels[picture.shown[0]]
        legend += f"adjoint({first}): d({first})/d(node), one per output"
    elif picture.selected is not None and len(picture.outputs) > 1:
        label = picture.output_labels[picture.selected]
        legend += f"adjoint({label}): d({label})/d(node)"
    else:
        legend += "adjoint: d(output)/d(node)"
    if picture.wrt is not None:
        legend += f"; d/d{picture.wrt}: tangent"
    return Text(legend, style="dim")


def _summary(picture: Picture, drawn: int, max_nodes: int) -> Group:
    nodes = picture.nodes
    depth = [0] * len(nodes)
    for edge in picture.edges:  # edges come in topological order of their targets
        depth[edge.target] = max(depth[edge.target], depth[edge.source] + 1)
    ops = Counter(node.op for node in nodes if node.op not in ("input", "const"))
    inputs = [node.label for node in nodes if node.op == "input"]
    shown_inputs = ", ".join(inputs[:12]) + (f", … ({len(inputs) - 12} more)" if len(inputs) > 12 else "")
    roots = _roots(picture)
    if picture.several:
        shown = [(picture.output_labels[k], nodes[picture.outputs[k]]) for k in picture.shown]
        lines = [
            f"{len(nodes)} nodes, {len(picture.edges)} edges; {drawn} feed an output; "
            f"longest path to an output: {max(depth[r] for r in roots)} edges",
            "operations: " + ", ".join(f"{op} {count}" for op, count in ops.most_common()),
            f"inputs ({len(inputs)}): {shown_inputs or 'none'}",
            f"outputs ({len(shown)}): " + ", ".join(f"{label} = {format_number(n.value)}" for label, n in shown[:12])
            + (f", … ({len(shown) - 12} more)" if len(shown) > 12 else ""),
        ]
    else:
        output = nodes[picture.output]
        lines = [
            f"{len(nodes)} nodes, {len(picture.edges)} edges; {drawn} feed the output; "
            f"longest path to the output: {depth[picture.output]} edges",
            "operations: " + ", ".join(f"{op} {count}" for op, count in ops.most_common()),
            f"inputs ({len(inputs)}): {shown_inputs or 'none'}",
            f"output: {output.label} = {format_number(output.value)}",
        ]
    hint = (
        f"more than {max_nodes} nodes to draw: --max-nodes 0 draws the tree anyway; "
        "-o graph.svg or --format dot | dot -Tsvg > graph.svg draws a picture; --json lists every node and edge"
    )
    return Group(*(Text(line) for line in lines), Text(hint, style="dim"))
