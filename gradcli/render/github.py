"""GitHub Actions output of `gradcli test` results: error annotations and the job's step summary.

`annotations` gives one `::error file=...,line=...,title=...::message` workflow
command per failing or erroring point (at the point's line in the case file),
and one at the case's line for a case that fails only in its random points;
values are escaped as GitHub's runner expects. `step_summary` gives Markdown
for `$GITHUB_STEP_SUMMARY`: a heading with the counts, a table with one row
per point (and one per random-point check), and the detail of each failure.
"""

from __future__ import annotations

import html
import re

from ..suite import STATUSES
from .junit import at_text, clean, failure_text

_ICON = {"pass": "✅", "recorded": "📝", "fail": "❌", "error": "💥"}
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|&~])")


def escape_data(text: str) -> str:
    """A workflow command's message: % \\r \\n escaped (terminal escapes and control characters dropped)."""
    text = clean(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (file, line, title): also : and , escaped."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(file: str, line: int, title: str, message: str) -> str:
    return (f"::error file={escape_property(file)},line={escape_property(str(line))},"
            f"title={escape_property(title)}::{escape_data(message)}")


def annotations(results: list) -> list[str]:
    lines = []
    for r in results:
        bad = [p for p in r.points if p.status in ("fail", "error")]
        for p in bad:
            lines.append(_command(r.file, p.line or r.line, f"gradcli test: {r.name}, point {p.index + 1}",
                                  f"{p.status}: {p.message or p.status} (at {at_text(p.at)})"))
        if not bad and r.status in ("fail", "error"):
            lines.append(_command(r.file, r.line, f"gradcli test: {r.name}", f"{r.status}: {r.message or r.status}"))
    return lines


def cell(text: str) -> str:
    """Text safe in a Markdown table cell: one line, Markdown and HTML punctuation (pipes too) escaped."""
    return _MARKDOWN.sub(r"\\\1", " ".join(clean(text).split()))


def _error(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def step_summary(results: list) -> str:
    cases = {s: sum(r.status == s for r in results) for s in STATUSES}
    points = sum(len(r.points) for r in results)
    counts = ", ".join(f"{n} {s}" for s, n in reversed(cases.items()) if n)
    ok = not (cases["fail"] or cases["error"])
    out = [f"## {'✅' if ok else '❌'} gradcli test: {len(results)} case(s), {points} point(s): {counts or 'none'}", "",
           "| case | point | status | worst error |", "| --- | --- | --- | --- |"]
    for r in results:
        where = cell(f"{r.name} ({r.file}:{r.line})")
        for p in r.points:
            point = cell(f"{p.index + 1} at {at_text(p.at)} (line {p.line})")
            out.append(f"| {where} | {point} | {_ICON[p.status]} {p.status} | {_error(p.worst)} |")
        if r.samples is not None:
            s = r.samples
            worst = s.worst()
            errors = [] if worst is None else [q.rel_error for q in worst.partials if q.rel_error is not None]
            status = "pass" if s.ok else "fail"
            label = cell(f"{len(s.results)} random points (seed {s.seed})")
            out.append(f"| {where} | {label} | {_ICON[status]} {status} | {_error(max(errors, default=None))} |")
    failed = [r for r in results if r.status in ("fail", "error")]
    if failed:
        out += ["", "### Failures", ""]
    for r in failed:
        text = failure_text(r)
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
        summary = html.escape(" ".join(clean(f"{r.name} ({r.file}:{r.line}): {r.status}").split()))
        out += [f"<details><summary>{summary}</summary>", "", fence + "text", text, fence, "", "</details>", ""]
    return "\n".join(out).rstrip("\n") + "\n"
