"""`gradcli test --update`: writing the computed value and gradient into a case file.

The file is edited line by line, not re-serialised, so its comments, order
and layout stay as they were: inside each point's block an existing
`value = ...` or `gradient = { ... }` line is replaced (keeping its
indentation and any trailing comment), and a missing one is inserted after
the point's `at = ` (or `point = `) line. TOML 1.0 keeps inline tables on one
line, which is what makes this safe.
"""

from __future__ import annotations

import os
import re

from .cases import CaseSpec, string_lines
from .graph import format_number

_ASSIGNMENT = re.compile(r"^(?P<indent>\s*)(?P<key>value|gradient)\s*=\s*(?P<body>\{[^}]*\}|[^#\s]+)(?P<rest>.*)$")
_ANCHOR = re.compile(r"^(?P<indent>\s*)(at|point)\s*=")
_DOTTED = re.compile(r"^(?P<indent>\s*)gradient\s*\.")


def toml_number(x: float) -> str:
    """A TOML literal for a double that reads back as the same double (inf and nan included)."""
    text = format_number(x)
    return text if text != "-0" else "-0.0"


def gradient_table(gradient: dict[str, float]) -> str:
    return "{ " + ", ".join(f"{name} = {toml_number(v)}" for name, v in gradient.items()) + " }"


def updated_text(text: str, cases: list[CaseSpec], results: list) -> str:
    """`text` with every point's expected value and gradient set to what `results` computed.

    `results` are gradcli.suite.CaseResult objects for `cases`, in the same order.
    Only "recorded" points are written: those without expected numbers, and with
    `gradcli test --update` (suite.run_case(update=True)) those whose numbers changed.
    """
    lines = text.split("\n")
    skip = string_lines(lines)  # lines of multi-line strings (a program) are never keys
    ending = "\r" if text.count("\r\n") > text.count("\n") // 2 else ""  # keep CRLF files CRLF
    edits: list[tuple[int, int, list[str]]] = []  # (first line index, count to replace, new lines)
    for case, result in zip(cases, results):
        for spec, point in zip(case.points, result.points):
            if point.status != "recorded" or point.value is None or point.gradient is None:
                continue
            edits += _point_edits(lines, spec.block, skip, point.value, point.gradient, ending)
    for start, count, new in sorted(edits, key=lambda e: e[0], reverse=True):  # bottom up: indices stay valid
        lines[start : start + count] = new
    return "\n".join(lines)


def _point_edits(lines, block: tuple[int, int], skip: set[int], value: float, gradient: dict[str, float], ending: str):
    start, end = block[0] - 1, min(block[1] - 1, len(lines))  # 0-based [start, end)
    wanted = {"value": toml_number(value), "gradient": gradient_table(gradient)}
    found: dict[str, int] = {}
    dotted: list[int] = []  # gradient.x = 1 lines: replaced by one inline table
    anchor, indent = None, ""
    for index in range(start, end):
        if index + 1 in skip:
            continue
        match = _ASSIGNMENT.match(lines[index])
        if match and match["key"] not in found:
            found[match["key"]] = index
        elif _DOTTED.match(lines[index]):
            dotted.append(index)
        elif anchor is None and (anchor_match := _ANCHOR.match(lines[index])):
            anchor, indent = index, anchor_match["indent"]
    edits, inserted = [], []
    if dotted and "gradient" not in found:
        found["gradient"] = dotted[0]
        lines[dotted[0]] = f"{_DOTTED.match(lines[dotted[0]])['indent']}gradient = {{}}{ending}"
        edits += [(index, 1, []) for index in dotted[1:]]
    for key in ("value", "gradient"):
        if key in found:
            match = _ASSIGNMENT.match(lines[found[key]])
            edits.append((found[key], 1, [f"{match['indent']}{key} = {wanted[key]}{match['rest']}"]))
        else:
            inserted.append(f"{indent}{key} = {wanted[key]}{ending}")
    if inserted:
        at = (anchor if anchor is not None else start) + 1
        edits.append((at, 0, inserted))
    return edits


def write_updates(path: str, text: str, cases: list[CaseSpec], results: list) -> bool:
    """Rewrite the case file in place (atomically); whether anything changed."""
    new = updated_text(text, cases, results)
    if new == text:
        return False
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        handle.write(new)
    os.replace(temporary, path)
    return True
