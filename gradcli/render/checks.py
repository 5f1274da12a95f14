"""Human output of gradcli check: one row per partial, the evidence behind each verdict, a summary.

A row is named by its input when the program has one output (x); otherwise,
and at order 2, by the derivative it is (du/dx, d²f/dx dy; check.derivative_name).
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..graph import Graph, format_number

VERDICT_STYLE = {"pass": "green", "kink": "yellow", "uncertain": "yellow", "fail": "bold red", "non-finite": "bold red"}


def _num(x: float | None, short: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:.2e}" if short else format_number(x)


def _verdict(verdict: str) -> Text:
    return Text(verdict, style=VERDICT_STYLE.get(verdict, ""))


def _explanations(graph: Graph, label: str, v) -> list[Text]:
    lines = []
    if v.kink is not None:
        where = "; ".join(f"node {n} `{graph.text(graph.nodes[n], 30)}`: {d}" for n, d in v.kink.nodes if n >= 0)
        sides = f"left {_num(v.kink.left)}, right {_num(v.kink.right)}"
        lines.append(Text(f"{label}: kink within the step ({where or v.kink.nodes[0][1]}); one-sided derivatives {sides}"))
    lines += [Text(f"{label}: {note}", style="dim") for note in v.notes]
    return lines


def _plain(result) -> bool:
    """One output, first order: rows are named by their input alone, as before several outputs existed."""
    return all(p.name == p.input for p in result.partials)


def partial_table(result, title: str | None = None) -> Group:
    graph = result.evaluation.graph
    order = getattr(result, "order", 1)
    if title is None:
        title = "second derivatives (Hessian entries)" if order == 2 else "partials" if _plain(result) else "Jacobian entries"
    claims = any(p.claimed is not None for p in result.partials)
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column("input" if _plain(result) else "derivative")
    if claims:
        table.add_column("claimed", justify="right", overflow="fold")
    table.add_column("forward over reverse" if order == 2 else "reverse mode", justify="right", overflow="fold")
    table.add_column("numeric", justify="right", overflow="fold")
    table.add_column("abs error", justify="right")
    table.add_column("rel error", justify="right")
    table.add_column("step", justify="right")
    table.add_column("error est.", justify="right")
    table.add_column("method")
    table.add_column("verdict")
    notes: list[Text] = []
    for p in result.partials:
        row = [Text(p.name)]
        if claims:
            row.append(_num(p.claimed))
        row += [
            format_number(p.reverse),
            _num(p.numeric),
            _num(p.abs_error, True),
            _num(p.rel_error, True),
            _num(p.step, True),
            _num(p.error_estimate, True),
            p.method,
            _verdict(p.verdict),
        ]
        table.add_row(*row)
        notes += _explanations(graph, p.name, p)
    return Group(table, *notes)


def _local_derivative(graph: Graph, n) -> str:
    """d/d(argument) of the op, or at order 2 the derivative of its partial rule: d²/d(a) d(b)."""
    argument = graph.label(graph.nodes[n.argument_node], 20)
    if getattr(n, "partial", None) is None:
        return argument

    def d(node_id: int) -> str:
        label = graph.label(graph.nodes[node_id], 20)
        return "d" + (label if label.isidentifier() else f"({label})")

    if n.partial == n.argument:
        return f"d²/{d(n.argument_node)}²"
    return f"d²/{d(n.partial_node)} {d(n.argument_node)}"


def node_table(result, node_checks) -> Group:
    graph = result.evaluation.graph
    second = any(getattr(n, "partial", None) is not None for n in node_checks)
    title = "local second derivatives (partial rules differentiated), node by node" if second else "local partials, node by node"
    table = Table(title=title, title_justify="left", title_style="bold")
    for name, justify in (("#", "right"), ("node", "left"), ("op", "left"), ("d²" if second else "d/d argument", "left"),
                          ("op table", "right"), ("numeric", "right"), ("rel error", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify)
    notes: list[Text] = []
    for n in node_checks:
        node = graph.nodes[n.node]
        argument = _local_derivative(graph, n)
        table.add_row(
            str(n.node), Text(graph.label(node, 24)), n.op, Text(argument),
            format_number(n.tested), _num(n.numeric), _num(n.rel_error, True), _verdict(n.verdict),
        )
        if not n.ok or n.kink is not None:
            notes += _explanations(graph, f"node {n.node} ({n.op}) " + (argument if second else f"d/d{argument}"), n)
    return Group(table, *notes)


def header(result) -> Table:
    evaluation, settings = result.evaluation, result.settings
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    source = evaluation.graph.source.strip()
    grid.add_row("program", Text(source if len(source) <= 240 else source[:160] + " … " + source[-60:]))
    grid.add_row("at", Text(", ".join(f"{k} = {format_number(v)}" for k, v in evaluation.point.items()) or "(no inputs)"))
    labels = evaluation.output_labels
    if len(labels) > 1:
        grid.add_row("values", Text(", ".join(f"{k} = {format_number(v)}" for k, v in zip(labels, evaluation.output_values))))
    else:
        grid.add_row("value", format_number(evaluation.value))
    step = "default" if settings.step is None else format_number(settings.step)
    order = getattr(result, "order", 1)
    grid.add_row("settings", f"method {settings.method}, step {step}, rtol {settings.rtol:g}, atol {settings.atol:g}"
                 + (", order 2" if order == 2 else ""))
    for hessian in getattr(result, "hessians", None) or []:
        if not hessian.symmetric:
            # Forward over reverse computes both triangles; where they differ, a kink is the usual reason.
            name = "" if len(labels) == 1 else f" of {hessian.output}"
            grid.add_row("hessian", Text(f"the triangles{name} differ by {hessian.asymmetry:.2g} (relative) before averaging"))
    return grid


def summary_line(result, node_checks=None, samples=None) -> Text:
    counts = result.counts()
    total = len(result.partials)
    failed = [p.name for p in result.partials if not p.ok]
    what = "second derivatives" if getattr(result, "order", 1) == 2 else "partials"
    parts = [f"{total - len(failed)} of {total} {what} agree"]
    extra = [f"{counts[v]} {v}" for v in ("kink", "uncertain") if counts[v]]
    if extra:
        parts.append("(" + ", ".join(extra) + ")")
    if failed:
        parts.append("; wrong: " + ", ".join(failed))
    if node_checks is not None:
        bad = [f"node {n.node} ({n.op})" for n in node_checks if not n.ok]
        local = "local second derivatives" if any(getattr(n, "partial", None) is not None for n in node_checks) else "local partials"
        parts.append(f"; nodes: {len(node_checks) - len(bad)} of {len(node_checks)} {local} agree")
        if bad:
            parts.append(" (wrong: " + ", ".join(dict.fromkeys(bad)) + ")")
    if samples is not None:
        parts.append(
            f"; samples: {len(samples.results) - len(samples.failed)} of {len(samples.results)} points pass"
            f" ({samples.skipped} outside the domain skipped), seed {samples.seed}"
        )
        zero = samples.zero_everywhere()
        if zero:
            names = [f"d/d{z}" if _plain(result) else z for z in zero]
            parts.append(f"; {', '.join(names)} exactly 0 at every point checked (a dropped term looks the same)")
    ok = result.ok and all(n.ok for n in node_checks or []) and (samples is None or samples.ok)
    return Text(("ok: " if ok else "FAIL: ") + " ".join(parts).replace(" ;", ";"), style="bold green" if ok else "bold red")
