"""Human output with rich: the program and point, the value, the gradient, the per-node table.

Every piece of user text goes into `Text` objects, never into markup strings,
so names and programs containing '[' print as written.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..evaluation import ALONG_DIRECTION, Evaluation
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


def _point_text(point: dict[str, float]) -> str:
    return ", ".join(f"{name} = {format_number(v)}" for name, v in point.items()) or "(no inputs)"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def sweeps_text(evaluation: Evaluation) -> str:
    """How the derivatives were computed, and why that mode (--mode auto)."""
    inputs, outputs = len(evaluation.graph.inputs), len(evaluation.outputs)
    parts = []
    if evaluation.jacobian is not None:
        if evaluation.mode == "reverse":
            text = (
                "reverse mode: 1 backward sweep gives every partial" if outputs == 1
                else f"reverse mode: {_plural(outputs, 'backward sweep')}, one per output"
            )
        else:
            text = f"forward mode: {_plural(inputs, 'tangent sweep')}, one per input"
        if evaluation.requested_mode == "auto" and (outputs > 1 or evaluation.mode == "forward"):
            text += (
                f" (chosen: {_plural(outputs, 'output')}, {_plural(inputs, 'input')}; "
                f"{'forward' if evaluation.mode == 'reverse' else 'reverse'} mode would take "
                f"{max(inputs, 1) if evaluation.mode == 'reverse' else outputs})"
            )
        parts.append(text)
    if evaluation.jvp is not None:
        parts.append("J v: 1 forward sweep along v, J not formed")
    if evaluation.vjp is not None:
        parts.append("u^T J: 1 backward sweep from u, J not formed")
    return "; ".join(parts)


def summary(evaluation: Evaluation, hessians=None, hessian_products=None) -> Group:
    """The program, the point, the value(s), the derivatives asked for, and how they were computed."""
    graph = evaluation.graph
    source = graph.source.strip()
    if len(source) > PROGRAM_LIMIT:  # a generated program: its head and tail say enough
        source = f"{source[: PROGRAM_LIMIT // 2]} … {source[-PROGRAM_LIMIT // 4 :]}"
    labels, several = evaluation.output_labels, len(evaluation.outputs) > 1
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("program", Text(source))
    head.add_row("at", Text(_point_text(evaluation.point)))
    if several:
        values = ", ".join(f"{label} = {format_number(v)}" for label, v in zip(labels, evaluation.output_values))
        head.add_row("values", Text(values, style="bold"))
    else:
        head.add_row("value", Text(format_number(evaluation.value), style="bold"))
    parts = [head]

    if evaluation.jacobian is not None and not several:
        gradient = Table(title="gradient", title_justify="left", title_style="bold")
        gradient.add_column("input")
        gradient.add_column("value", justify="right")
        gradient.add_column("d(output)/d(input)", justify="right")
        for name, value in evaluation.gradient.items():
            gradient.add_row(Text(name), format_number(evaluation.point[name]), format_number(value))
        parts += [Text(""), gradient]
    elif evaluation.jacobian is not None:
        parts += [Text(""), _jacobian_table(evaluation)]
    if evaluation.jvp is not None:
        table = _two_columns("output", "d(output) along v", zip(labels, evaluation.jvp))
        parts += [Text(""), _titled(f"directional derivative J v, v = ({_point_text(evaluation.direction)})", table)]
    if evaluation.vjp is not None:
        table = _two_columns("input", "d(u . outputs)/d(input)", evaluation.vjp.items())
        parts += [Text(""), _titled(f"vector-Jacobian product u^T J, u = ({_point_text(evaluation.cotangent)})", table)]
    parts.append(Text(sweeps_text(evaluation), style="dim"))
    for hessian in hessians or []:
        parts += [Text(""), _hessian_table(evaluation, hessian, several)]
    for label, product in zip(labels, hessian_products or []):
        table = _two_columns("input", "d/dv of d(output)/d(input)", product.items())
        title = f"Hessian-vector product H v{f' of {label}' if several else ''}, v = ({_point_text(evaluation.direction)})"
        parts += [Text(""), _titled(title, table)]
    if hessian_products:
        parts.append(Text(f"forward over reverse: {_plural(len(hessian_products), 'sweep')}, one per output; "
                          "H not formed", style="dim"))
    return Group(*parts)


def _two_columns(name_header: str, number_header: str, rows) -> Table:
    """A table of (name, number) rows."""
    table = Table()
    table.add_column(name_header)
    table.add_column(number_header, justify="right")
    for name, value in rows:
        table.add_row(Text(name), format_number(value))
    return table


def _titled(title: str, table: Table, caption: str | None = None) -> Group:
    """A table under a title line (and over a caption line): rich would wrap both to a narrow table's width."""
    parts = [Text(title, style="bold"), table]
    if caption:
        parts.append(Text(caption, style="dim"))
    return Group(*parts)


def _jacobian_table(evaluation: Evaluation) -> Table:
    inputs = list(evaluation.graph.inputs)
    table = Table(title="Jacobian d(output)/d(input)", title_justify="left", title_style="bold")
    table.add_column("output")
    table.add_column("value", justify="right")
    for name in inputs:
        table.add_column(Text(f"d/d{_d(name)} ({format_number(evaluation.point[name])})"), justify="right")
    for label, value, row in zip(evaluation.output_labels, evaluation.output_values, evaluation.jacobian):
        table.add_row(Text(label), format_number(value), *[format_number(v) for v in row])
    return table


def _hessian_table(evaluation: Evaluation, hessian, several: bool) -> Group:
    inputs = list(evaluation.graph.inputs)
    of = f" of {hessian.output}" if several else ""
    table = Table()
    table.add_column("")
    for name in inputs:
        table.add_column(Text(name), justify="right")
    for name, row in zip(inputs, hessian.matrix):
        table.add_row(Text(name, style="bold"), *[format_number(v) for v in row])
    symmetry = (
        "symmetric to rounding" if hessian.asymmetry == 0.0
        else f"the two triangles differ by {hessian.asymmetry:.2g} (relative), averaged"
    )
    caption = f"forward over reverse: {_plural(hessian.sweeps, 'sweep')}, one per input; {symmetry}"
    return _titled(f"Hessian{of}: d²(output)/d(row) d(column)", table, caption)


def _derivative_columns(evaluation: Evaluation) -> list[tuple[str, list[float]]]:
    """The per-node derivative columns: (header, value per node)."""
    columns = []
    labels = evaluation.output_labels
    if evaluation.output_adjoints is not None and len(labels) > 1:
        columns += [(f"adjoint d{_d(label)}/d(node)", adjoints)
                    for label, adjoints in zip(labels, evaluation.output_adjoints)]
    elif evaluation.adjoints is not None:
        columns.append(("adjoint d(output)/d(node)", evaluation.adjoints))
    if evaluation.cotangent_adjoints is not None:
        columns.append(("adjoint d(u . outputs)/d(node)", evaluation.cotangent_adjoints))
    for wrt, tangents in evaluation.tangents.items():
        header = "tangent along v" if wrt == ALONG_DIRECTION else f"tangent d(node)/d{wrt}"
        columns.append((header, tangents))
    return columns


def node_table(evaluation: Evaluation, max_nodes: int = DEFAULT_MAX_NODES) -> Table:
    """The per-node table in evaluation order; cut to `max_nodes` rows (0: all)."""
    graph = evaluation.graph
    outputs = set(evaluation.outputs)
    table = Table(title="nodes, in evaluation order", title_justify="left", title_style="bold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("node")
    table.add_column("op")
    table.add_column("inputs")
    table.add_column("value", justify="right")
    table.add_column("local partials (edges)")
    columns = _derivative_columns(evaluation)
    for header, _ in columns:
        table.add_column(Text(header), justify="right")

    rows = [node for node in graph.nodes if _shown_in_table(node) or node.id in outputs]
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
            Text(graph.label(node, LABEL_LIMIT), style="bold" if node.id in outputs else ""),
            Text(node.op.name, style="cyan" if node.op.name == "input" else ""),
            Text(", ".join(_arg_label(graph, graph.nodes[a]) for a in node.args)),
            format_number(evaluation.values[node.id]),
            Text(_partials_text(graph, node, evaluation.partials[node.id])),
        ]
        cells += [format_number(values[node.id]) for _, values in columns]
        table.add_row(*cells)
    if hidden:
        table.caption = f"{hidden} of {total} rows not shown: --max-nodes 0 shows all, --json lists every node"
        table.caption_justify = "left"
    return table
