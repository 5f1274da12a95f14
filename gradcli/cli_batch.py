"""`gradcli eval --points`: a program's value and gradient at every point of a file or stream.

Reads points in chunks (batch_io), evaluates each chunk with the NumPy engine
(batch) and writes its rows before reading the next, so memory stays bounded
and the row order is kept. Bad rows are reported on stderr with their line
number; --on-error decides whether they stop the run, are left out, or are
written without numbers and with the reason.
"""

from __future__ import annotations

import contextlib
import os
import sys

import click

from .errors import EXIT_OK, GradcliError, InputError, RowError

SHOWN_ROW_ERRORS = 10  # bad rows reported one by one on stderr; the rest are counted


def run_points(source: str, fixed: dict[str, float], points_path: str, output_format: str | None,
               on_error: str, show_progress: bool) -> int:
    import numpy as np

    from .batch import evaluate_batch
    from .batch_io import CsvWriter, JsonlWriter, PointsReader, detect_format
    from .parser import parse
    from .point import bind

    graph = parse(source)
    outputs = graph.outputs
    labels = graph.output_labels if len(outputs) > 1 else None  # several: each output's columns in turn
    fixed_point, unused = bind(graph, fixed, partial=True)
    for message in unused:
        click.echo(f"warning: {message}", err=True)
    inputs = list(graph.inputs)
    needed = [name for name in inputs if name not in fixed_point]
    # An error in the program's constant part is the program's, not a point's:
    # raised here, before anything is written.
    evaluate_batch(graph, {name: np.empty(0) for name in inputs}, rows=0)

    name = "standard input" if points_path == "-" else points_path
    stream = _open(points_path, name)
    with stream if points_path != "-" else contextlib.nullcontext(stream):
        first = stream.readline().lstrip("\ufeff")
        input_format = detect_format("" if points_path == "-" else points_path, first)
        reader = PointsReader(stream, name, input_format, needed, first)
        _refuse_fixed_columns(getattr(reader, "header", []), fixed_point, name)
        _warn_ignored(reader.ignored, name)  # CSV: known from the header
        fmt = output_format or input_format
        if fmt == "csv":
            writer = CsvWriter(sys.stdout, inputs, with_errors=on_error == "null", outputs=labels)
        else:
            writer = JsonlWriter(sys.stdout, inputs, outputs=labels)
        failed = rows_done = non_finite = 0
        with _Progress(show_progress, _size(stream)) as progress:
            for chunk in reader.chunks():
                _refuse_fixed_columns(reader.ignored, fixed_point, name)  # JSON Lines: keys known as read
                columns = {**chunk.columns, **fixed_point}
                # One batch per output (the engine differentiates one output at a time).
                results = [evaluate_batch(graph, columns, rows=len(chunk), output=output) for output in outputs]
                points = [chunk.columns[n] if n in chunk.columns else np.full(len(chunk), fixed_point[n]) for n in inputs]
                numbers = [column for result in results for column in [result.values, *result.gradient.values()]]
                row_errors = {}  # the same rows fail for every output (one forward pass): the first output's error
                for result in results:
                    for row, error in result.errors.items():
                        row_errors.setdefault(row, error)
                reasons = dict(chunk.problems)  # a row that cannot be read: its own message wins
                for row, error in row_errors.items():
                    reasons.setdefault(row, error.message)
                keep = None
                if reasons:
                    bad_rows = sorted(reasons)
                    if on_error == "stop":
                        writer.write(chunk.lines, points, numbers, {}, np.arange(bad_rows[0]))
                        raise _row_error(name, chunk, bad_rows[0], reasons, row_errors)
                    for row in bad_rows:
                        if failed < SHOWN_ROW_ERRORS:
                            click.echo(f"error: {name} line {chunk.lines[row]}: {reasons[row]}", err=True)
                        failed += 1
                    if on_error == "skip":
                        keep = np.setdiff1d(np.arange(len(chunk)), bad_rows)
                messages = {
                    row: _error_entry(reasons[row], None if row in chunk.problems else row_errors.get(row), fmt)
                    for row in reasons
                }
                writer.write(chunk.lines, points, numbers, messages, keep)
                first_non_finite = _count_non_finite(
                    [column for result in results for column in result.gradient.values()], reasons
                )
                if first_non_finite is not None:
                    non_finite += first_non_finite[0]
                    if non_finite == first_non_finite[0]:
                        example = int(chunk.lines[first_non_finite[1]])
                rows_done += len(chunk)
                progress.advance(len(chunk), chunk.size)
    sys.stdout.flush()
    if input_format == "jsonl":
        _warn_ignored(reader.ignored, name)
    if non_finite:
        click.echo(
            f"warning: {non_finite} point{'s have' if non_finite > 1 else ' has'} an infinite or NaN partial "
            f"(the first on line {example}): an infinite slope (sqrt at 0) or a kink; "
            "gradcli eval at that point says which node",
            err=True,
        )
    if failed:
        what = "left out" if on_error == "skip" else "written without numbers"
        click.echo(f"{failed} of {rows_done} points could not be evaluated ({what})", err=True)
    return EXIT_OK


def _refuse_fixed_columns(columns: list[str], fixed: dict, name: str) -> None:
    both = [column for column in columns if column in fixed]
    if both:
        raise InputError(
            f"{', '.join(both)} is given on the command line and in {name}",
            hint="drop the fixed value to use the points' values, or drop them from the points",
        )


def _warn_ignored(columns: list[str], name: str) -> None:
    for column in columns:
        click.echo(f"warning: {column} in {name} is not an input of the program; it is not in the output", err=True)


def _count_non_finite(gradient: list, bad_rows: dict) -> tuple[int, int] | None:
    """How many good rows have a non-finite partial (in any of the `gradient` columns), and the first of them."""
    import numpy as np

    finite = np.ones(len(gradient[0]) if gradient else 0, dtype=bool)
    for column in gradient:
        finite &= np.isfinite(column)
    rows = [row for row in np.flatnonzero(~finite).tolist() if row not in bad_rows]
    return (len(rows), rows[0]) if rows else None


def _row_error(name: str, chunk, row: int, reasons: dict, errors: dict) -> RowError:
    error = None if row in chunk.problems else errors.get(row)
    return RowError(
        f"{name} line {chunk.lines[row]}: {reasons[row]}",
        hint=(error.hint + "; " if error is not None and error.hint else "")
        + "or run with --on-error skip (leave such points out) or null (write them without numbers)",
        details={"line": int(chunk.lines[row]), "cause": "input" if error is None else error.kind},
    )


def _error_entry(reason: str, error: GradcliError | None, fmt: str):
    if fmt == "csv":
        return reason
    return {"type": "input" if error is None else error.kind, "message": reason}


def _open(path: str, name: str):
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}", hint="check the path") from None


def _size(stream) -> int | None:
    import stat

    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError and a ValueError
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


class _Progress:
    """A rich progress bar on stderr for long runs on a terminal; nothing otherwise."""

    def __init__(self, enabled: bool, total_chars: int | None):
        self.enabled = enabled
        self.total = total_chars
        self.bar = None
        self.points = 0

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            columns = [TextColumn("{task.fields[points]:,} points"), BarColumn(), TimeElapsedColumn()]
            if self.total:
                columns.append(TimeRemainingColumn())
            self.bar = Progress(*columns, console=Console(stderr=True), transient=True, refresh_per_second=4)
            self.task = self.bar.add_task("points", total=self.total, points=0)
            self.bar.start()
        return self

    def advance(self, points: int, chars: int) -> None:
        self.points += points
        if self.bar is not None:
            self.bar.update(self.task, advance=chars, points=self.points)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
