"""Plain-text error reports: what is wrong, where (a caret under the column), how to fix it."""

from __future__ import annotations

from ..errors import GradcliError, line_col

_WINDOW = 60  # characters of a long source line shown on each side of the error


def format_error(error: GradcliError) -> str:
    lines = [f"error: {error.message}"]
    if error.span is not None and error.source is not None:
        lines += _excerpt(error.source, *error.span)
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return "\n".join(lines)


def _excerpt(source: str, start: int, end: int) -> list[str]:
    line_number, column = line_col(source, start)
    line_start = start - (column - 1)
    line_end = source.find("\n", line_start)
    if line_end == -1:
        line_end = len(source)
    text = source[line_start:line_end]
    offset = column - 1
    width = max(1, min(end, line_end) - start)
    # Keep very long lines (1 MB one-liners) readable: a window around the error.
    if len(text) > 2 * _WINDOW:
        left = max(0, offset - _WINDOW)
        prefix = "…" if left > 0 else ""
        suffix = "…" if left + 2 * _WINDOW < len(text) else ""
        text = prefix + text[left : left + 2 * _WINDOW] + suffix
        offset = offset - left + len(prefix)
        width = min(width, 2 * _WINDOW)
    # Tabs would misplace the caret; show them as one space each.
    text = text.replace("\t", " ")
    gutter = " " * len(str(line_number))
    return [
        f"{gutter}--> line {line_number}, column {column}",
        f"{gutter} |",
        f"{line_number} | {text}",
        f"{gutter} | {' ' * offset}{'^' * width}",
    ]
