"""`gradcli test` in the terminal: the summary table and, for each failure, what went wrong.

`failure_text` gives the same failure report as plain text, for the pytest
plugin and for reports that must not carry terminal escape codes.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..graph import format_number
from ..suite import CaseResult, PointResult

_STYLE = {"pass": "green", "recorded": "cyan", "fail": "bold red", "error": "bold magenta"}


def _point_text(at: dict[str, float]) -> str:
    return ", ".join(f"{name}={format_number(value)}" for name, value in at.items())


def _error_text(x: float | None) -> str:
    return "" if x is None else f"{x:.2g}"


def summary_table(results: list[CaseResult]) -> Table:
    table = Table(title="gradient suite", title_justify="left", title_style="bold")
    for column, justify in (("file", "left"), ("case", "left"), ("point", "left"), ("status", "left"), ("worst rel. error", "right")):
        table.add_column(column, justify=justify)
    for result in results:
        rows = [(p.line, _point_text(p.at), p.status, p.worst) for p in result.points]
        if result.samples is not None:
            status = "pass" if result.samples.ok else "fail"
            rows.append((result.line, f"{len(result.samples.results)} random points (seed {result.samples.seed})", status, None))
        for line, point, status, worst in rows:
            table.add_row(f"{result.file}:{line}", Text(result.name), Text(point), Text(status, style=_STYLE[status]), _error_text(worst))
    return table


def failure_details(result: CaseResult) -> Group:
    """For a failing or erroring case: each bad point's message and its per-input table."""
    parts: list = [Text(f"{result.file}:{result.line}: case {result.name!r}: {result.status}", style=_STYLE[result.status])]
    for point in result.points:
        if point.status in ("fail", "error"):
            parts.append(Text(f"  at {_point_text(point.at)} (line {point.line}): {point.message}"))
            if point.comparisons:
                parts.append(_comparison_table(point))
            if point.check is not None and not point.check.ok:
                from .checks import partial_table

                parts.append(partial_table(point.check))
    if result.samples is not None and not result.samples.ok:
        parts.append(Text(f"  {result.message}"))
        worst = result.samples.worst()
        if worst is not None:
            from .checks import partial_table

            parts.append(partial_table(worst, title="worst random point"))
    return Group(*parts)


def _comparison_table(point: PointResult) -> Table:
    table = Table(box=None, padding=(0, 2), show_edge=False)
    for column in ("", "expected", "gradcli", "abs. error", "rel. error", ""):
        table.add_column(column, justify="right" if column not in ("", "verdict") else "left")
    for c in point.comparisons:
        label = "value" if c.what == "value" else f"d/d{c.what}"
        table.add_row(
            Text(label), format_number(c.expected), format_number(c.actual), f"{c.abs_error:.3g}",
            f"{c.rel_error:.3g}", Text("ok" if c.ok else "FAIL", style="green" if c.ok else "bold red"),
        )
    return table


def totals_line(results: list[CaseResult], updated: list[str]) -> Text:
    counts = {status: sum(r.status == status for r in results) for status in _STYLE}
    text = Text(f"{len(results)} case{'s' if len(results) != 1 else ''}: ")
    text.append(", ".join(f"{n} {status}" for status, n in counts.items() if n) or "none")
    if updated:
        text.append(f"; expected values written to {', '.join(updated)}", style="cyan")
    return text


def failure_text(result: CaseResult, width: int = 100) -> str:
    """The failure report as plain text (no escape codes)."""
    from . import plain_text

    return plain_text(failure_details(result), width)
