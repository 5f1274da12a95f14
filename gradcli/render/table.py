"""Human output with rich: the program and point, the value, the gradient, the per-node table.

Every piece of user text goes into `Text` objects, never into markup strings,
so names and programs containing '[' print as written.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..evaluation import Evaluation
from ..graph import Graph, Node, format_number

LABEL_LIMIT = 24
DEFAULT_MAX_NODES = 40
PROGRAM_LIMIT = 240


def _shown_in_table(node: Node) -> bool:
    # Unnamed literals are shown as numbers where they are used, not as rows.
    return not (node.op.name == "const" and node.name is None)


def _arg_label(graph: Graph, node: Node) -> str:
    if node.op.name == "const" and node.name is None:
        return format_number(node.constant)
    return graph.label(node, LABEL_LIMIT)


def _d(label: str) -> str:
    return label if label.isidentifier() else f"({label})"


def _partials_text(graph: Graph, node: Node, partials: tuple[float, ...]) -> str:
    # A named node reads as in the texts (de/dc = 2); an unnamed one is its own row.
    own = node.name or ""
    parts = []
    for arg_id, partial in zip(node.args, partials):
        arg = graph.nodes[arg_id]
        if _shown_in_table(arg):
            parts.append(f"d{own}/d{_d(graph.label(arg, LABEL_LIMIT))} = {format_number(partial)}")
    return ", ".join(parts)


def summary(evaluation: Evaluation) -> Group:
    graph = evaluation.graph
    source = graph.source.strip()
    if len(source) > PROGRAM_LIMIT:  # a generated program: its head and tail say enough
        source = f"{source[: PROGRAM_LIMIT // 2]} … {source[-PROGRAM_LIMIT // 4 :]}"
    program = Text(source)
    point = ", ".join(f"{name} = {format_number(v)}" for name, v in evaluation.point.items()) or "(no inputs)"
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("program", program)
    head.add_row("at", Text(point))
    head.add_row("value", Text(format_number(evaluation.value), style="bold"))

    gradient = Table(title="gradient", title_justify="left", title_style="bold")
    gradient.add_column("input")
    gradient.add_column("value", justify="right")
    gradient.add_column("d(output)/d(input)", justify="right")
    for name, value in evaluation.gradient.items():
        gradient.add_row(Text(name), format_number(evaluation.point[name]), format_number(value))
    sweeps = (
        "reverse mode: 1 backward sweep gives every partial"
        if evaluation.mode == "reverse"
        else f"forward mode: {evaluation.sweeps} tangent sweep{'s' if evaluation.sweeps != 1 else ''}, one per input"
    )
    return Group(head, Text(""), gradient, Text(sweeps, style="dim"))


def node_table(evaluation: Evaluation, max_nodes: int = DEFAULT_MAX_NODES) -> Table:
    """The per-node table in evaluation order; cut to `max_nodes` rows (0: all)."""
    graph = evaluation.graph
    table = Table(title="nodes, in evaluation order", title_justify="left", title_style="bold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("node")
    table.add_column("op")
    table.add_column("inputs")
    table.add_column("value", justify="right")
    table.add_column("local partials (edges)")
    if evaluation.adjoints is not None:
        table.add_column("adjoint d(output)/d(node)", justify="right")
    tangent_items = list(evaluation.tangents.items())
    for wrt, _ in tangent_items:
        table.add_column(f"tangent d(node)/d{wrt}", justify="right")

    rows = [node for node in graph.nodes if _shown_in_table(node)]
    hidden, total = 0, len(rows)
    if max_nodes and len(rows) > max_nodes:
        half = max_nodes // 2
        hidden = len(rows) - 2 * half
        rows = rows[:half] + [None] + rows[-half:]
    for node in rows:
        if node is None:
            table.add_row("…", Text(f"{hidden} nodes not shown", style="italic"), end_section=False)
            continue
        cells = [
            str(node.id),
            Text(graph.label(node, LABEL_LIMIT), style="bold" if node.id == graph.output else ""),
            Text(node.op.name, style="cyan" if node.op.name == "input" else ""),
            Text(", ".join(_arg_label(graph, graph.nodes[a]) for a in node.args)),
            format_number(evaluation.values[node.id]),
            Text(_partials_text(graph, node, evaluation.partials[node.id])),
        ]
        if evaluation.adjoints is not None:
            cells.append(format_number(evaluation.adjoints[node.id]))
        cells += [format_number(tangents[node.id]) for _, tangents in tangent_items]
        table.add_row(*cells)
    if hidden:
        table.caption = f"{hidden} of {total} rows not shown: --max-nodes 0 shows all, --json lists every node"
        table.caption_justify = "left"
    return table
