"""JUnit XML of `gradcli test` results, for CI systems; and the plain-text failure detail.

Owns `to_junit_xml` and the readable text of a failing case (`failure_text`,
`clean`), which the GitHub report reuses. One <testsuite> per case file, one
<testcase> per case; a "fail" case gets <failure>, an "error" case <error>,
a "recorded" one a <system-out> note. The output is valid against the
Jenkins xunit-plugin `junit-10.xsd` (the schema pytest's xunit2 targets) except
for the `file` and `line` attributes of <testcase>, which GitLab and the GitHub
JUnit actions read but that schema does not declare: `locations=False` leaves
them out. Text carries no terminal escapes and no character XML 1.0 forbids.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime

from ..cases import SUFFIX
from ..graph import format_number as num

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """`text` without terminal escape sequences and characters that XML 1.0 forbids (tab, newline stay)."""
    return _NOT_XML.sub("", _ANSI.sub("", str(text)))


def classname(path: str) -> str:
    """A dotted class name from a case file path: cases/olah.grad.toml -> cases.olah."""
    stem = path[: -len(SUFFIX)] if path.endswith(SUFFIX) else path
    return ".".join(part for part in re.split(r"[\\/]+", stem) if part not in ("", "."))


def at_text(at: dict[str, float]) -> str:
    return ", ".join(f"{name}={num(value)}" for name, value in at.items())


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def failure_text(result) -> str:
    """Every point of a case (where, status, message, comparisons) and its random-point check, as plain text."""
    name = " ".join(clean(result.name).split())
    lines = [f'case "{name}" ({result.file}:{result.line}): {result.status}']
    if result.message:
        lines.append(result.message)
    for p in result.points:
        lines.append(f"point {p.index + 1} (line {p.line}) at {at_text(p.at)}: {p.status}")
        if p.message:
            lines.append(f"  {p.message}")
        if p.comparisons:
            rows = [["what", "expected", "actual", "rel error", "ok"]]
            rows += [[c.what, num(c.expected), num(c.actual), f"{c.rel_error:.3g}", "ok" if c.ok else "FAIL"]
                     for c in p.comparisons]
            lines += ["    " + row for row in _table(rows)]
        if p.check is not None:
            for partial in p.check.partials:
                error = "-" if partial.rel_error is None else f"{partial.rel_error:.3g}"
                what = "claimed" if getattr(partial, "claimed", None) is not None else "gradcli's"
                lines.append(f"    finite-difference check of {what} d/d{partial.input}: {partial.verdict} "
                             f"(tested {num(partial.tested)}, numeric "
                             f"{'-' if partial.numeric is None else num(partial.numeric)}, rel error {error})")
    if result.samples is not None:
        s = result.samples
        lines.append(f"random points (seed {s.seed}): {len(s.results)} checked, {len(s.failed)} failed, "
                     f"{s.skipped} skipped: {'ok' if s.ok else 'FAIL'}")
    return clean("\n".join(lines))


def _seconds(x: float) -> str:
    """Seconds as junit-10.xsd's SUREFIRE_TIME wants them: digits, a point, no exponent."""
    return f"{x:.3f}" if math.isfinite(x) and x > 0 else "0.000"


def to_junit_xml(results: list, suite_name: str = "gradcli", *, locations: bool = True,
                 timestamp: datetime | None = None) -> str:
    """JUnit XML for CaseResults, grouped by case file in order of first appearance."""
    files: dict[str, list] = {}
    for r in results:
        files.setdefault(r.file, []).append(r)
    root = ET.Element("testsuites", name=clean(suite_name))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for path, group in files.items():
        counts = {"tests": len(group), "failures": sum(r.status == "fail" for r in group),
                  "errors": sum(r.status == "error" for r in group)}
        for key in totals:
            totals[key] += counts[key]
        suite = ET.SubElement(root, "testsuite", name=clean(path), **{k: str(v) for k, v in counts.items()},
                              skipped="0", time=_seconds(sum(r.seconds for r in group)), file=clean(path))
        if timestamp is not None:
            suite.set("timestamp", timestamp.isoformat(timespec="seconds"))
        for r in group:
            case = ET.SubElement(suite, "testcase", classname=clean(classname(path)), name=clean(r.name),
                                 time=_seconds(r.seconds))
            if locations:
                case.set("file", clean(path))
                case.set("line", str(r.line))
            if r.status in ("fail", "error"):
                element = ET.SubElement(case, "failure" if r.status == "fail" else "error",
                                        message=clean(r.message or r.status), type=r.status)
                element.text = failure_text(r)
            elif r.status == "recorded":
                ET.SubElement(case, "system-out").text = clean("\n".join(
                    f"recorded: point {p.index + 1} (line {p.line}) had no expected numbers yet; computed "
                    f"value {num(p.value) if p.value is not None else '-'}, gradient {at_text(p.gradient or {})}"
                    for p in r.points if p.status == "recorded"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(sum(r.seconds for r in results)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
