"""Human output of gradcli check: one row per partial, the evidence behind each verdict, a summary."""

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


def partial_table(result, title: str = "partials") -> Group:
    graph = result.evaluation.graph
    claims = any(p.claimed is not None for p in result.partials)
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column("input")
    if claims:
        table.add_column("claimed", justify="right", overflow="fold")
    table.add_column("reverse mode", justify="right", overflow="fold")
    table.add_column("numeric", justify="right", overflow="fold")
    table.add_column("abs error", justify="right")
    table.add_column("rel error", justify="right")
    table.add_column("step", justify="right")
    table.add_column("error est.", justify="right")
    table.add_column("method")
    table.add_column("verdict")
    notes: list[Text] = []
    for p in result.partials:
        row = [Text(p.input)]
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
        notes += _explanations(graph, p.input, p)
    return Group(table, *notes)


def node_table(result, node_checks) -> Group:
    graph = result.evaluation.graph
    table = Table(title="local partials, node by node", title_justify="left", title_style="bold")
    for name, justify in (("#", "right"), ("node", "left"), ("op", "left"), ("d/d argument", "left"),
                          ("op table", "right"), ("numeric", "right"), ("rel error", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify)
    notes: list[Text] = []
    for n in node_checks:
        node = graph.nodes[n.node]
        argument = graph.label(graph.nodes[n.argument_node], 20)
        table.add_row(
            str(n.node), Text(graph.label(node, 24)), n.op, Text(argument),
            format_number(n.tested), _num(n.numeric), _num(n.rel_error, True), _verdict(n.verdict),
        )
        if not n.ok or n.kink is not None:
            notes += _explanations(graph, f"node {n.node} ({n.op}) d/d{argument}", n)
    return Group(table, *notes)


def header(result) -> Table:
    evaluation, settings = result.evaluation, result.settings
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    source = evaluation.graph.source.strip()
    grid.add_row("program", Text(source if len(source) <= 240 else source[:160] + " … " + source[-60:]))
    grid.add_row("at", Text(", ".join(f"{k} = {format_number(v)}" for k, v in evaluation.point.items()) or "(no inputs)"))
    grid.add_row("value", format_number(evaluation.value))
    step = "default" if settings.step is None else format_number(settings.step)
    grid.add_row("settings", f"method {settings.method}, step {step}, rtol {settings.rtol:g}, atol {settings.atol:g}")
    return grid


def summary_line(result, node_checks=None, samples=None) -> Text:
    counts = result.counts()
    total = len(result.partials)
    failed = [p.input for p in result.partials if not p.ok]
    parts = [f"{total - len(failed)} of {total} partials agree"]
    extra = [f"{counts[v]} {v}" for v in ("kink", "uncertain") if counts[v]]
    if extra:
        parts.append("(" + ", ".join(extra) + ")")
    if failed:
        parts.append("; wrong: " + ", ".join(failed))
    if node_checks is not None:
        bad = [f"node {n.node} ({n.op})" for n in node_checks if not n.ok]
        parts.append(f"; nodes: {len(node_checks) - len(bad)} of {len(node_checks)} local partials agree")
        if bad:
            parts.append(" (wrong: " + ", ".join(dict.fromkeys(bad)) + ")")
    if samples is not None:
        parts.append(
            f"; samples: {len(samples.results) - len(samples.failed)} of {len(samples.results)} points pass"
            f" ({samples.skipped} outside the domain skipped), seed {samples.seed}"
        )
        zero = samples.zero_everywhere()
        if zero:
            parts.append(f"; d/d{', d/d'.join(zero)} exactly 0 at every point checked (a dropped term looks the same)")
    ok = result.ok and all(n.ok for n in node_checks or []) and (samples is None or samples.ok)
    return Text(("ok: " if ok else "FAIL: ") + " ".join(parts).replace(" ;", ";"), style="bold green" if ok else "bold red")
