"""`gradcli eval PROGRAM --points FILE|-`: many points in, one row per point out.

The batch command line end to end: points as CSV or JSON Lines, from a file or
stdin, written as CSV or JSON Lines; fixed NAME=VALUE inputs; bad rows under
each --on-error mode; header errors and warnings; chunk boundaries (the reader's
block sizes are monkeypatched small); progress; options that do not go
together; and the installed module in a subprocess.

References: every value and partial is checked against the scalar engine,
`gradcli.evaluate`, to rounding (the NumPy engine may differ in the last bits),
and the printed texts are checked bit for bit against `gradcli.batch.
evaluate_batch` (they must read back as the very same doubles). Hard-coded
numbers appear only where they are exact.

Most runs go through `gradcli.cli.main(argv)` with capsys (as tests/test_cli.py
does), because main() is what turns errors into exit codes; CliRunner is used
for the progress bar, and a subprocess for the installed `python -m gradcli`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gradcli
from gradcli import batch_io
from gradcli.batch import evaluate_batch
from gradcli.cli import cli, main
from gradcli.errors import GradcliError

PROGRAM = "(x + sigmoid(y)) / (sigmoid(x) + (x+y)^2)"
# Undefined for x <= 0 (a domain error) and overflowing for y above ~709.
LOGEXP = "log(x) * exp(y)"
STDIN = "standard input"
STYLE_ENV = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES", "CLICOLOR",
             "CLICOLOR_FORCE", "PY_COLORS")
NON_FINITE_JSON = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error: ")]

    @property
    def warning_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("warning: ")]


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    for name in STYLE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run(capsys, monkeypatch):
    """gradcli.cli.main(argv) in-process, stdin optionally given as text: a Run."""

    def invoke(argv, stdin: str | None = None) -> Run:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin if stdin is not None else ""))
        capsys.readouterr()
        code = main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def small_blocks(monkeypatch):
    """Set the reader's block sizes (CSV characters, JSON Lines rows) for one test."""

    def set_sizes(chars: int | None = None, rows: int | None = None) -> None:
        if chars is not None:
            monkeypatch.setattr(batch_io, "BLOCK_CHARS", chars)
        if rows is not None:
            monkeypatch.setattr(batch_io, "JSONL_ROWS", rows)

    return set_sizes


def strict_json(text: str):
    """Parse JSON that must not contain NaN, Infinity or -Infinity literals."""

    def reject(constant):
        raise ValueError(f"non-standard JSON constant {constant!r}")

    return json.loads(text, parse_constant=reject)


def write(directory: Path, name: str, text: str) -> Path:
    """A points file with exactly these characters (CRLF and BOM kept)."""
    path = directory / name
    path.write_bytes(text.encode("utf-8"))
    return path


def random_points(count: int, seed: int, scale: float = 3.0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    return [{"x": float(x), "y": float(y)} for x, y in rng.normal(0.0, scale, size=(count, 2))]


def csv_text(columns: list[str], points: list[dict], newline: str = "\n") -> str:
    lines = [",".join(columns)] + [",".join(repr(point[c]) for c in columns) for point in points]
    return newline.join(lines) + newline


def jsonl_text(points: list[dict]) -> str:
    return "".join(json.dumps(point) + "\n" for point in points)


def number(text):
    """A printed number (CSV text or a JSON value) as a float; None for an empty field or null."""
    if text is None or text == "":
        return None
    if isinstance(text, str):
        return NON_FINITE_JSON[text] if text in NON_FINITE_JSON else float(text)
    return float(text)


def read_csv(out: str) -> tuple[list[str], list[dict[str, str]]]:
    rows = list(csv.reader(io.StringIO(out)))
    assert rows, "no CSV header on stdout"
    header = rows[0]
    assert all(len(row) == len(header) for row in rows[1:]), rows
    return header, [dict(zip(header, row)) for row in rows[1:]]


def read_jsonl(out: str) -> list[dict]:
    assert out == "" or out.endswith("\n")
    return [strict_json(line) for line in out.splitlines()]


@dataclass
class Record:
    """One output row, whatever the format."""

    point: dict[str, float | None]
    value: float | None
    gradient: dict[str, float | None] | None
    error: str | None
    line: int | None = None  # JSON Lines only
    error_type: str | None = None  # JSON Lines only


def csv_records(out: str, inputs: list[str]) -> list[Record]:
    header, rows = read_csv(out)
    assert header[: len(inputs) * 2 + 1] == inputs + ["value"] + [f"d/d{n}" for n in inputs]
    assert header[len(inputs) * 2 + 1 :] in ([], ["error"])
    records = []
    for row in rows:
        gradient = {n: number(row[f"d/d{n}"]) for n in inputs}
        records.append(Record(
            point={n: number(row[n]) for n in inputs},
            value=number(row["value"]),
            gradient=None if all(g is None for g in gradient.values()) else gradient,
            error=row.get("error") or None,
        ))
    return records


def jsonl_records(out: str, inputs: list[str]) -> list[Record]:
    records = []
    for obj in read_jsonl(out):
        assert list(obj["point"]) == inputs
        if "error" in obj:
            assert list(obj) == ["line", "point", "value", "gradient", "error"]
            assert obj["value"] is None and obj["gradient"] is None
            assert set(obj["error"]) == {"type", "message"}
        else:
            assert list(obj) == ["line", "point", "value", "gradient"]
            assert list(obj["gradient"]) == inputs
        records.append(Record(
            point={n: number(v) for n, v in obj["point"].items()},
            value=number(obj["value"]),
            gradient=None if obj["gradient"] is None else {n: number(v) for n, v in obj["gradient"].items()},
            error=obj.get("error", {}).get("message"),
            line=obj["line"],
            error_type=obj.get("error", {}).get("type"),
        ))
    return records


def records(out: str, fmt: str, inputs: list[str]) -> list[Record]:
    return csv_records(out, inputs) if fmt == "csv" else jsonl_records(out, inputs)


def same_double(a: float, b: float) -> bool:
    """Bit for bit (so -0.0 differs from 0.0 and NaN equals NaN)."""
    return struct.pack("<d", a) == struct.pack("<d", b)


def close(got: float, want: float) -> bool:
    if math.isinf(want) or math.isnan(want):
        return same_double(got, want)
    return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-14)


def assert_matches_scalar(recs: list[Record], program: str, points: list[dict]) -> None:
    """Each record is the scalar engine's value and gradient at its point (or its error)."""
    graph = gradcli.parse(program)
    assert len(recs) == len(points)
    for rec, point in zip(recs, points):
        assert rec.point == point, (rec, point)  # inputs read back exactly
        try:
            want = gradcli.evaluate(graph, point)
        except GradcliError as error:
            assert rec.value is None and rec.gradient is None
            assert rec.error == error.message
            continue
        assert rec.error is None, rec
        assert close(rec.value, want.value), (point, rec.value, want.value)
        for name, partial in want.gradient.items():
            assert close(rec.gradient[name], partial), (point, name, rec.gradient[name], partial)


def assert_bit_exact(recs: list[Record], program: str, columns: dict[str, np.ndarray]) -> None:
    """The printed numbers read back as evaluate_batch's doubles, bit for bit."""
    result = evaluate_batch(gradcli.parse(program), columns)
    assert len(recs) == len(result)
    for row, rec in enumerate(recs):
        for name, column in columns.items():
            assert same_double(rec.point[name], float(column[row]))
        assert same_double(rec.value, float(result.values[row])), (row, rec.value, result.values[row])
        for name, column in result.gradient.items():
            assert same_double(rec.gradient[name], float(column[row])), (row, name)


# --------------------------------------------------------------------------------------
# Formats: CSV and JSON Lines, in and out, files and stdin
# --------------------------------------------------------------------------------------


def test_csv_to_csv_matches_the_scalar_engine(run, tmp_path):
    points = random_points(60, seed=1)
    path = write(tmp_path, "points.csv", csv_text(["y", "x"], points))  # not the program's order
    result = run(["eval", PROGRAM, "--points", path])
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[0] == "x,y,value,d/dx,d/dy"  # the program's input order
    assert_matches_scalar(csv_records(result.out, ["x", "y"]), PROGRAM, points)


@pytest.mark.parametrize("flags", [["--format", "jsonl"], ["--json"], ["--json", "--format", "jsonl"]])
def test_csv_to_jsonl(run, tmp_path, flags):
    points = random_points(30, seed=2)
    path = write(tmp_path, "points.csv", csv_text(["x", "y"], points))
    result = run(["eval", PROGRAM, "--points", path, *flags])
    assert (result.code, result.err) == (0, "")
    recs = jsonl_records(result.out, ["x", "y"])
    assert [rec.line for rec in recs] == list(range(2, 32))  # the header is line 1
    assert_matches_scalar(recs, PROGRAM, points)


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_jsonl_to_jsonl(run, tmp_path, suffix):
    points = random_points(25, seed=3)
    path = write(tmp_path, "points" + suffix, jsonl_text(points))
    result = run(["eval", PROGRAM, "--points", path])
    assert (result.code, result.err) == (0, "")
    recs = jsonl_records(result.out, ["x", "y"])
    assert [rec.line for rec in recs] == list(range(1, 26))
    assert_matches_scalar(recs, PROGRAM, points)


def test_jsonl_to_csv(run, tmp_path):
    points = random_points(25, seed=4)
    # keys in another order than the program's, integers, and a blank line
    text = jsonl_text([{"y": p["y"], "x": p["x"]} for p in points[:10]]) + "\n" + jsonl_text(points[10:])
    text += '{"x": 2, "y": -1}\n'
    path = write(tmp_path, "points.jsonl", text)
    result = run(["eval", PROGRAM, "--points", path, "--format", "csv"])
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[-1].startswith("2.0,-1.0,")
    assert_matches_scalar(csv_records(result.out, ["x", "y"]), PROGRAM, points + [{"x": 2.0, "y": -1.0}])


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_points_from_stdin_detected_from_the_first_line(run, fmt):
    points = random_points(20, seed=5)
    text = csv_text(["x", "y"], points) if fmt == "csv" else jsonl_text(points)
    result = run(["eval", PROGRAM, "--points", "-"], stdin=text)
    assert (result.code, result.err) == (0, "")
    assert_matches_scalar(records(result.out, fmt, ["x", "y"]), PROGRAM, points)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_other_file_names_are_detected_from_the_first_line(run, tmp_path, fmt):
    points = random_points(5, seed=6)
    text = csv_text(["x", "y"], points) if fmt == "csv" else jsonl_text(points)
    path = write(tmp_path, "points.txt", text)
    result = run(["eval", PROGRAM, "--points", path])
    assert (result.code, result.err) == (0, "")
    assert_matches_scalar(records(result.out, fmt, ["x", "y"]), PROGRAM, points)


def test_the_program_can_come_from_a_file(run, tmp_path):
    program = write(tmp_path, "model.grad", "s = sigmoid(y)\nt = sigmoid(x)\n(x + s) / (t + (x+y)^2)\n")
    points = random_points(10, seed=7)
    path = write(tmp_path, "points.csv", csv_text(["x", "y"], points))
    result = run(["eval", "-f", program, "--points", path])
    assert (result.code, result.err) == (0, "")
    # the inputs in the order the program first uses them: y, then x
    assert_matches_scalar(csv_records(result.out, ["y", "x"]), PROGRAM, points)


def test_header_only_and_empty_points(run, tmp_path):
    header_only = run(["eval", PROGRAM, "--points", write(tmp_path, "h.csv", "x,y\n")])
    assert (header_only.code, header_only.out, header_only.err) == (0, "x,y,value,d/dx,d/dy\n", "")
    empty_jsonl = run(["eval", PROGRAM, "--points", write(tmp_path, "e.jsonl", "")])
    assert (empty_jsonl.code, empty_jsonl.out, empty_jsonl.err) == (0, "", "")


# --------------------------------------------------------------------------------------
# Fixed values, header errors, warnings
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_fixed_values_apply_to_every_point(run, tmp_path, fmt):
    program = "x*y + z^2"  # inputs x, y, z in that order; z fixed
    points = random_points(12, seed=8)
    text = csv_text(["x", "y"], points) if fmt == "csv" else jsonl_text(points)
    path = write(tmp_path, "points." + fmt, text)
    result = run(["eval", program, "z=1.5", "--points", path])
    assert (result.code, result.err) == (0, "")
    recs = records(result.out, fmt, ["x", "y", "z"])
    assert_matches_scalar(recs, program, [{**p, "z": 1.5} for p in points])
    assert all(rec.gradient["z"] == 3.0 for rec in recs)


def test_fixed_value_in_the_middle_of_the_input_order(run, tmp_path):
    path = write(tmp_path, "p.csv", "z,x\n3,1\n4,2\n")
    result = run(["eval", "x*y + z", "y=10", "--points", path])
    assert result.code == 0
    assert result.out == "x,y,z,value,d/dx,d/dy,d/dz\n1.0,10.0,3.0,13.0,10.0,1.0,1.0\n2.0,10.0,4.0,24.0,10.0,2.0,1.0\n"


def test_a_name_both_fixed_and_a_column_is_refused(run, tmp_path):
    path = write(tmp_path, "p.csv", "x,y\n1,2\n")
    result = run(["eval", PROGRAM, "y=3", "--points", path])
    assert result.code == 2
    assert result.out == ""
    assert f"error: y is given on the command line and in {path}" in result.err


@pytest.mark.parametrize("header, missing", [("x,z", "y"), ("a,b", "x, y"), ("X,Y", "x, y")])
def test_a_missing_column_is_named(run, tmp_path, header, missing):
    path = write(tmp_path, "p.csv", f"{header}\n1,2\n")
    result = run(["eval", PROGRAM, "--points", path])
    assert result.code == 2
    assert result.out == ""
    assert f"error: {path} has no column for {missing} (its header line is {header!r})" in result.err
    assert "y=..." in result.err  # the hint: a fixed value works too


def test_a_missing_column_can_be_a_fixed_value_instead(run, tmp_path):
    path = write(tmp_path, "p.csv", "x,z\n1,2\n")
    result = run(["eval", PROGRAM, "y=0", "--points", path])
    assert result.code == 0
    assert_matches_scalar(csv_records(result.out, ["x", "y"]), PROGRAM, [{"x": 1.0, "y": 0.0}])


def test_a_column_given_twice_is_refused(run, tmp_path):
    result = run(["eval", PROGRAM, "--points", write(tmp_path, "p.csv", "x,y,x\n1,2,3\n")])
    assert result.code == 2
    assert "the column 'x' appears twice" in result.err


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_an_empty_csv_is_refused(run, tmp_path, text):
    path = write(tmp_path, "p.csv", text)
    result = run(["eval", PROGRAM, "--points", path])
    assert result.code == 2
    assert f"error: {path} is empty" in result.err


def test_a_missing_points_file(run, tmp_path):
    path = tmp_path / "nowhere.csv"
    result = run(["eval", PROGRAM, "--points", path])
    assert result.code == 2
    assert f"error: cannot read {path}" in result.err


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_columns_that_are_not_inputs_are_left_out_with_a_warning(run, tmp_path, fmt):
    points = [{"id": f"p{i}", "x": p["x"], "note": 7, "y": p["y"]} for i, p in enumerate(random_points(5, seed=9))]
    if fmt == "csv":
        text = "id,x,note,y\n" + "".join(f"{p['id']},{p['x']!r},7,{p['y']!r}\n" for p in points)
    else:
        text = jsonl_text(points)
    path = write(tmp_path, "points." + fmt, text)
    result = run(["eval", PROGRAM, "--points", path])
    assert result.code == 0
    assert sorted(result.warning_lines) == [  # JSON Lines keys come in no particular order
        f"warning: {name} in {path} is not an input of the program; it is not in the output" for name in ("id", "note")
    ]
    assert "p0" not in result.out and "note" not in result.out
    assert_matches_scalar(records(result.out, fmt, ["x", "y"]), PROGRAM,
                          [{"x": p["x"], "y": p["y"]} for p in points])


def test_a_fixed_value_for_no_input_is_a_warning(run, tmp_path):
    path = write(tmp_path, "p.csv", "x,y\n1,2\n")
    result = run(["eval", PROGRAM, "w=1", "--points", path])
    assert result.code == 0
    assert result.warning_lines == ["warning: w=1 is not used: the program has no input named w"]
    assert len(read_csv(result.out)[1]) == 1


# --------------------------------------------------------------------------------------
# Bad rows: --on-error stop, skip, null
# --------------------------------------------------------------------------------------

# (row text, reason or a distinctive part of it, JSON error type); the program is LOGEXP.
CSV_BAD_ROWS = [
    ("3", "1 field where the header has 2", "input"),
    ("3,1,7", "3 fields where the header has 2", "input"),
    ("3,", "column y is empty", "input"),
    ("3,abc", "column y: 'abc' is not a number", "input"),
    ('"3",', "column y is empty", "input"),
    ("nan,1", "the value of x is nan; gradcli needs finite numbers", "binding"),
    ("3,-inf", "the value of y is -inf; gradcli needs finite numbers", "binding"),
    ("-1,1", "node 1 `log(x)` is undefined", "domain"),
    ("0,1", "node 1 `log(x)` is undefined", "domain"),
    ("3,1000", "overflows", "overflow"),
    ("1e400,1", "the value of x is inf", "binding"),
]
JSONL_BAD_ROWS = [
    ('{"x": 3}', "no value for y", "input"),
    ('{"x": 3, "y": "1"}', 'y: "1" is not a number', "input"),
    ('{"x": true, "y": 1}', "x: true is not a number", "input"),
    ('{"x": 3, "y": null}', "y: null is not a number", "input"),
    ("[3, 1]", "a JSON list, not an object of numbers", "input"),
    ('{"x": 3, ', "not JSON: ", "input"),
    ('{"x": NaN, "y": 1}', "the value of x is nan; gradcli needs finite numbers", "binding"),
    ('{"x": 3, "y": -1e999}', "the value of y is -inf; gradcli needs finite numbers", "binding"),
    ('{"x": -1, "y": 1}', "node 1 `log(x)` is undefined", "domain"),
    ('{"x": 3, "y": 1000}', "overflows", "overflow"),
]
GOOD = [{"x": 1.0, "y": 2.0}, {"x": 2.0, "y": 0.5}, {"x": 3.0, "y": 1.0}]


def file_with_bad_row(tmp_path: Path, fmt: str, bad: str) -> Path:
    """Two good rows, the bad one, a good one; the bad row is line 4 (CSV) or 3 (JSON Lines)."""
    if fmt == "csv":
        good = [f"{p['x']!r},{p['y']!r}" for p in GOOD]
        return write(tmp_path, "points.csv", "\n".join(["x,y", good[0], good[1], bad, good[2]]) + "\n")
    good = [json.dumps(p) for p in GOOD]
    return write(tmp_path, "points.jsonl", "\n".join([good[0], good[1], bad, good[2]]) + "\n")


def bad_row_cases():
    for text, reason, kind in CSV_BAD_ROWS:
        yield pytest.param("csv", text, reason, kind, id=f"csv-{text}")
    for text, reason, kind in JSONL_BAD_ROWS:
        yield pytest.param("jsonl", text, reason, kind, id=f"jsonl-{text}")


@pytest.mark.parametrize("fmt, bad, reason, kind", list(bad_row_cases()))
def test_on_error_stop_writes_the_rows_before_then_fails(run, tmp_path, fmt, bad, reason, kind):
    path = file_with_bad_row(tmp_path, fmt, bad)
    line = 4 if fmt == "csv" else 3
    result = run(["eval", LOGEXP, "--points", path])  # stop is the default
    assert result.code == 2
    assert_matches_scalar(records(result.out, fmt, ["x", "y"]), LOGEXP, GOOD[:2])
    assert result.error_lines[0].startswith(f"error: {path} line {line}: ")
    assert reason in result.error_lines[0]
    assert len(result.error_lines) == 1
    hint = [line for line in result.err.splitlines() if line.startswith("hint: ")]
    assert len(hint) == 1 and "--on-error skip" in hint[0] and "null" in hint[0]
    same = run(["eval", LOGEXP, "--points", path, "--on-error", "stop"])
    assert (same.code, same.out, same.err) == (result.code, result.out, result.err)


@pytest.mark.parametrize("fmt, bad, reason, kind", list(bad_row_cases()))
def test_on_error_skip_leaves_the_row_out(run, tmp_path, fmt, bad, reason, kind):
    path = file_with_bad_row(tmp_path, fmt, bad)
    line = 4 if fmt == "csv" else 3
    result = run(["eval", LOGEXP, "--points", path, "--on-error", "skip"])
    assert result.code == 0
    assert_matches_scalar(records(result.out, fmt, ["x", "y"]), LOGEXP, GOOD)
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith(f"error: {path} line {line}: ") and reason in result.error_lines[0]
    assert result.err.splitlines()[-1] == "1 of 4 points could not be evaluated (left out)"


@pytest.mark.parametrize("fmt, bad, reason, kind", list(bad_row_cases()))
def test_on_error_null_writes_the_row_without_numbers(run, tmp_path, fmt, bad, reason, kind):
    path = file_with_bad_row(tmp_path, fmt, bad)
    line = 4 if fmt == "csv" else 3
    result = run(["eval", LOGEXP, "--points", path, "--on-error", "null"])
    assert result.code == 0
    recs = records(result.out, fmt, ["x", "y"])
    assert len(recs) == 4
    good, bad_rec = recs[:2] + recs[3:], recs[2]
    assert_matches_scalar(good, LOGEXP, GOOD)
    assert bad_rec.value is None and bad_rec.gradient is None
    assert reason in bad_rec.error
    assert result.error_lines == [f"error: {path} line {line}: {bad_rec.error}"]
    assert result.err.splitlines()[-1] == "1 of 4 points could not be evaluated (written without numbers)"
    if fmt == "jsonl":
        assert [rec.line for rec in recs] == [1, 2, 3, 4]
        assert bad_rec.error_type == kind
    else:
        assert read_csv(result.out)[0][-1] == "error"
        assert all(rec.error is None for rec in good)


def test_null_echoes_the_inputs_that_were_read(run, tmp_path):
    text = "x,y\n-1,2\n3,abc\n5,inf\nnan,1\n"
    path = write(tmp_path, "p.csv", text)
    as_csv = run(["eval", LOGEXP, "--points", path, "--on-error", "null"])
    assert as_csv.out.splitlines()[1:] == [
        '-1.0,2.0,,,,"node 1 `log(x)` is undefined: log needs x > 0 (and, for log(x, b), a base b > 0 other than 1), '
        'but got x = -1"',
        "3.0,,,,,column y: 'abc' is not a number",
        "5.0,inf,,,,the value of y is inf; gradcli needs finite numbers",
        ",1.0,,,,the value of x is nan; gradcli needs finite numbers",
    ]
    as_jsonl = run(["eval", LOGEXP, "--points", path, "--on-error", "null", "--format", "jsonl"])
    assert [obj["point"] for obj in read_jsonl(as_jsonl.out)] == [
        {"x": -1.0, "y": 2.0}, {"x": 3.0, "y": None}, {"x": 5.0, "y": "Infinity"}, {"x": None, "y": 1.0},
    ]
    assert [obj["error"]["type"] for obj in read_jsonl(as_jsonl.out)] == ["domain", "input", "binding", "binding"]


MIXED_CSV = """\
x,y
1,2
-1,1
2,0.5
3,
4,1000
0.5,-3

5,x
6,7,8
7,nan
8,-2
0,0
9,1
"""
MIXED_BAD = [(3, "`log(x)` is undefined"), (5, "column y is empty"), (6, "overflows"), (9, "'x' is not a number"),
             (10, "3 fields where the header has 2"), (11, "the value of y is nan"), (13, "`log(x)` is undefined")]
MIXED_GOOD = [{"x": 1.0, "y": 2.0}, {"x": 2.0, "y": 0.5}, {"x": 0.5, "y": -3.0}, {"x": 8.0, "y": -2.0},
              {"x": 9.0, "y": 1.0}]


def assert_mixed_errors(result: Run, name) -> None:
    assert len(result.error_lines) == len(MIXED_BAD)
    for line_text, (line, reason) in zip(result.error_lines, MIXED_BAD):
        assert line_text.startswith(f"error: {name} line {line}: ") and reason in line_text


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_skip_with_several_kinds_of_bad_rows(run, tmp_path, where):
    path = write(tmp_path, "mixed.csv", MIXED_CSV)
    argv = ["eval", LOGEXP, "--points", path if where == "file" else "-", "--on-error", "skip"]
    result = run(argv, stdin=MIXED_CSV if where == "stdin" else None)
    assert result.code == 0
    assert_matches_scalar(csv_records(result.out, ["x", "y"]), LOGEXP, MIXED_GOOD)
    assert_mixed_errors(result, path if where == "file" else STDIN)
    assert result.err.splitlines()[-1] == "7 of 12 points could not be evaluated (left out)"  # the blank line is no point


def test_null_with_several_kinds_of_bad_rows_keeps_one_row_per_point(run, tmp_path):
    path = write(tmp_path, "mixed.csv", MIXED_CSV)
    result = run(["eval", LOGEXP, "--points", path, "--on-error", "null", "--json"])
    assert result.code == 0
    recs = jsonl_records(result.out, ["x", "y"])
    assert [rec.line for rec in recs] == [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14]
    assert [rec.line for rec in recs if rec.error] == [line for line, _ in MIXED_BAD]
    assert_matches_scalar([rec for rec in recs if not rec.error], LOGEXP, MIXED_GOOD)
    assert_mixed_errors(result, path)
    assert result.err.splitlines()[-1] == "7 of 12 points could not be evaluated (written without numbers)"


def test_stop_at_the_first_of_several_bad_rows(run, tmp_path):
    path = write(tmp_path, "mixed.csv", MIXED_CSV)
    result = run(["eval", LOGEXP, "--points", path, "--format", "jsonl"])
    assert result.code == 2
    recs = jsonl_records(result.out, ["x", "y"])  # only point rows on stdout (no error object)
    assert [rec.line for rec in recs] == [2]
    assert len(result.error_lines) == 1 and f"{path} line 3: " in result.error_lines[0]


@pytest.mark.parametrize("mode, what", [("skip", "left out"), ("null", "written without numbers")])
def test_only_the_first_ten_bad_rows_are_listed(run, tmp_path, small_blocks, mode, what):
    small_blocks(chars=50)  # the count carries over from block to block
    lines = ["x,y"] + [f"{-k if k % 6 else k},1" for k in range(1, 31)]  # 25 bad rows
    path = write(tmp_path, "p.csv", "\n".join(lines) + "\n")
    result = run(["eval", LOGEXP, "--points", path, "--on-error", mode])
    assert result.code == 0
    bad_lines = [k + 1 for k in range(1, 31) if k % 6]
    assert [line.split(":")[0] + ":" + line.split(":")[1] for line in result.error_lines] == [
        f"error: {path} line {n}" for n in bad_lines[:10]
    ]
    assert result.err.splitlines()[-1] == f"25 of 30 points could not be evaluated ({what})"
    assert len(read_csv(result.out)[1]) == (5 if mode == "skip" else 30)


def test_a_bad_point_changes_no_other_point(run, tmp_path):
    program = "log(x) * exp(y) + (x + sigmoid(y)) / (sigmoid(x) + (x+y)^2)"
    points = [{"x": abs(p["x"]) + 0.01, "y": p["y"]} for p in random_points(200, seed=10)]
    clean = write(tmp_path, "clean.csv", csv_text(["x", "y"], points))
    dirty_points = []
    for i, point in enumerate(points):
        dirty_points.append(point)
        if i % 7 == 3:
            dirty_points.append({"x": -point["x"], "y": point["y"]})  # domain error
        if i % 11 == 5:
            dirty_points.append({"x": point["x"], "y": 800.0})  # overflow
    dirty = write(tmp_path, "dirty.csv", csv_text(["x", "y"], dirty_points))
    clean_run = run(["eval", program, "--points", clean])
    dirty_run = run(["eval", program, "--points", dirty, "--on-error", "skip"])
    assert clean_run.code == dirty_run.code == 0
    assert dirty_run.out == clean_run.out
    assert_matches_scalar(csv_records(clean_run.out, ["x", "y"]), program, points)


def test_an_error_of_the_program_itself_is_not_a_row_error(run, tmp_path):
    path = write(tmp_path, "p.csv", "x\n1\n2\n")
    result = run(["eval", "x + log(-1)", "--points", path, "--on-error", "skip"])
    assert result.code == 2
    assert "line" not in result.error_lines[0]
    assert "`log(-1)` is undefined" in result.error_lines[0]


# --------------------------------------------------------------------------------------
# Numbers: exact round trips, non-finite texts, strict JSON
# --------------------------------------------------------------------------------------


def awkward_columns() -> dict[str, np.ndarray]:
    """Doubles that need all 17 digits, tiny and huge ones, subnormals, -0.0; x*y stays finite."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal(300) * 10.0 ** rng.integers(-150, 150, 300)
    y = rng.standard_normal(300) * 10.0 ** rng.integers(-150, 150, 300)
    specials = [5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308,
                -1.7976931348623157e308, -0.0, 0.0, 0.1, 1 / 3, 2.0**53 + 2, 123456789012345680.0, 1e22, 1e23]
    x = np.concatenate([x, specials, specials])
    y = np.concatenate([y, np.full(len(specials), 0.75), np.full(len(specials), -0.0)])
    return {"x": x, "y": y}


@pytest.mark.parametrize("out_fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("in_fmt", ["csv", "jsonl"])
def test_printed_numbers_read_back_as_the_same_doubles(run, tmp_path, in_fmt, out_fmt):
    program = "x*y"
    columns = awkward_columns()
    points = [{"x": float(x), "y": float(y)} for x, y in zip(columns["x"], columns["y"])]
    text = csv_text(["x", "y"], points) if in_fmt == "csv" else jsonl_text(points)
    path = write(tmp_path, "points." + in_fmt, text)
    result = run(["eval", program, "--points", path, "--format", out_fmt])
    assert (result.code, result.err) == (0, "")
    recs = records(result.out, out_fmt, ["x", "y"])
    assert_bit_exact(recs, program, columns)
    assert_matches_scalar(recs, program, points)
    # one correctly rounded product in either engine: the very same double
    for rec, point in zip(recs, points):
        assert same_double(rec.value, point["x"] * point["y"])


@pytest.mark.parametrize("out_fmt", ["csv", "jsonl"])
def test_program_numbers_are_bit_exact_against_evaluate_batch(run, tmp_path, out_fmt):
    points = random_points(500, seed=12, scale=20.0)
    columns = {n: np.array([p[n] for p in points]) for n in ("x", "y")}
    path = write(tmp_path, "points.csv", csv_text(["x", "y"], points))
    result = run(["eval", PROGRAM, "--points", path, "--format", out_fmt])
    assert result.code == 0
    assert_bit_exact(records(result.out, out_fmt, ["x", "y"]), PROGRAM, columns)


def test_non_finite_partials(run, tmp_path):
    """sqrt's slope at 0 is infinite: a valid result, written as inf / "Infinity"."""
    path = write(tmp_path, "p.csv", "x,y\n0,1\n0,-1\n1,1\n")
    as_csv = run(["eval", "sqrt(x)*y", "--points", path])
    assert as_csv.code == 0
    assert as_csv.out.splitlines()[1:] == ["0.0,1.0,0.0,inf,0.0", "0.0,-1.0,-0.0,-inf,0.0", "1.0,1.0,1.0,0.5,1.0"]
    as_jsonl = run(["eval", "sqrt(x)*y", "--points", path, "--json"])
    assert as_jsonl.code == 0
    assert '"x": "Infinity"' in as_jsonl.out and '"x": "-Infinity"' in as_jsonl.out
    grads = [obj["gradient"]["x"] for obj in read_jsonl(as_jsonl.out)]  # strict JSON
    assert grads == ["Infinity", "-Infinity", 0.5]
    assert_matches_scalar(jsonl_records(as_jsonl.out, ["x", "y"]), "sqrt(x)*y",
                          [{"x": 0.0, "y": 1.0}, {"x": 0.0, "y": -1.0}, {"x": 1.0, "y": 1.0}])


def test_number_texts_for_nan_and_infinities():
    """The writers' number texts (NaN never comes out of a good row, so it is checked here)."""
    column = [np.array([math.nan, math.inf, -math.inf, -0.0, 0.1])]
    assert batch_io.number_rows(column) == ["nan", "inf", "-inf", "-0.0", "0.1"]
    assert batch_io.number_rows(column, strict_json=True) == ['"NaN"', '"Infinity"', '"-Infinity"', "-0.0", "0.1"]


def test_jsonl_output_is_strict_json_even_for_bad_rows(run, tmp_path):
    path = write(tmp_path, "p.jsonl", '{"x": Infinity, "y": 1}\n{"x": NaN, "y": -Infinity}\n{"x": 1, "y": 1}\n')
    result = run(["eval", LOGEXP, "--points", path, "--on-error", "null"])
    assert result.code == 0
    objs = read_jsonl(result.out)
    assert [obj["point"] for obj in objs] == [{"x": "Infinity", "y": 1.0}, {"x": None, "y": "-Infinity"},
                                              {"x": 1.0, "y": 1.0}]


# --------------------------------------------------------------------------------------
# Chunk boundaries: small blocks
# --------------------------------------------------------------------------------------

# A BOM, CRLF, blank lines, quoted fields, a text column, a comma inside quotes,
# a domain error (line 6), a non-number (line 8), no line break after the last line.
AWKWARD_CSV = (
    "\ufeffid,x,y\r\n"
    "a,0.5,1\r\n"
    '"b",1.5,-2\r\n'
    "\r\n"
    'c,"2.5",0.25\r\n'
    "d,-1,1\r\n"
    '"e, with comma",3,2\r\n'
    "f,4,abc\r\n"
    "\r\n"
    "g,5,1e-3\r\n"
    "h,6,7"
)
AWKWARD_GOOD = [(2, 0.5, 1.0), (3, 1.5, -2.0), (5, 2.5, 0.25), (7, 3.0, 2.0), (10, 5.0, 1e-3), (11, 6.0, 7.0)]
AWKWARD_BAD = [(6, "`log(x)` is undefined"), (8, "column y: 'abc' is not a number")]
BLOCK_SIZES = [1, 3, 8, 16, 21, 55, 64, 1 << 22]


@pytest.mark.parametrize("chars", BLOCK_SIZES)
def test_awkward_csv_in_small_blocks(run, tmp_path, small_blocks, chars):
    small_blocks(chars=chars)
    path = write(tmp_path, "awkward.csv", AWKWARD_CSV)
    result = run(["eval", LOGEXP, "--points", path, "--on-error", "null", "--format", "jsonl"])
    assert result.code == 0
    recs = jsonl_records(result.out, ["x", "y"])
    assert [rec.line for rec in recs] == [2, 3, 5, 6, 7, 8, 10, 11]
    good = [rec for rec in recs if rec.error is None]
    assert [rec.line for rec in good] == [line for line, _, _ in AWKWARD_GOOD]
    assert_matches_scalar(good, LOGEXP, [{"x": x, "y": y} for _, x, y in AWKWARD_GOOD])
    assert len(result.error_lines) == 2
    for text, (line, reason) in zip(result.error_lines, AWKWARD_BAD):
        assert text.startswith(f"error: {path} line {line}: ") and reason in text
    assert result.warning_lines == [f"warning: id in {path} is not an input of the program; it is not in the output"]

    skipped = run(["eval", LOGEXP, "--points", path, "--on-error", "skip"])
    assert skipped.code == 0
    assert_matches_scalar(csv_records(skipped.out, ["x", "y"]), LOGEXP, [{"x": x, "y": y} for _, x, y in AWKWARD_GOOD])

    stopped = run(["eval", LOGEXP, "--points", path])
    assert stopped.code == 2
    assert_matches_scalar(csv_records(stopped.out, ["x", "y"]), LOGEXP,
                          [{"x": x, "y": y} for _, x, y in AWKWARD_GOOD[:3]])
    assert stopped.error_lines[0].startswith(f"error: {path} line 6: ")


@pytest.mark.parametrize("chars", BLOCK_SIZES)
def test_awkward_csv_from_stdin_in_small_blocks(run, small_blocks, chars):
    small_blocks(chars=chars)
    result = run(["eval", LOGEXP, "--points", "-", "--on-error", "skip"], stdin=AWKWARD_CSV)
    assert result.code == 0
    assert_matches_scalar(csv_records(result.out, ["x", "y"]), LOGEXP, [{"x": x, "y": y} for _, x, y in AWKWARD_GOOD])
    assert [text.split(":")[1] for text in result.error_lines] == [f" {STDIN} line {line}" for line, _ in AWKWARD_BAD]


@pytest.mark.parametrize("bad_at", [0, 1, 7, 8, 15, 39])
@pytest.mark.parametrize("chars", [17, 64])
def test_a_bad_row_at_a_block_edge(run, tmp_path, small_blocks, chars, bad_at):
    """Numbers only (the fast path), 8-character lines: blocks end on and between row edges."""
    rows = [f"{k:03d}.5,{k % 7}\n" for k in range(1, 41)]  # "001.5,1\n": 8 characters
    rows[bad_at] = "-01.5,1\n"  # the same length, a domain error
    text = "x,y\n" + "".join(rows)
    text = text[:-1]  # and no line break at the end
    path = write(tmp_path, "p.csv", text)
    points = [{"x": float(r.split(",")[0]), "y": float(r.split(",")[1])} for r in rows]
    good = points[:bad_at] + points[bad_at + 1 :]
    small_blocks(chars=chars)

    nulls = run(["eval", LOGEXP, "--points", path, "--on-error", "null"])
    recs = csv_records(nulls.out, ["x", "y"])
    assert_matches_scalar(recs[:bad_at] + recs[bad_at + 1 :], LOGEXP, good)
    assert recs[bad_at].point == points[bad_at] and "`log(x)` is undefined" in recs[bad_at].error
    assert nulls.error_lines[0].startswith(f"error: {path} line {bad_at + 2}: ")

    skips = run(["eval", LOGEXP, "--points", path, "--on-error", "skip"])
    assert_matches_scalar(csv_records(skips.out, ["x", "y"]), LOGEXP, good)

    stops = run(["eval", LOGEXP, "--points", path])
    assert stops.code == 2
    assert_matches_scalar(csv_records(stops.out, ["x", "y"]), LOGEXP, points[:bad_at])
    assert stops.error_lines[0].startswith(f"error: {path} line {bad_at + 2}: ")

    small_blocks(chars=1 << 22)
    assert run(["eval", LOGEXP, "--points", path, "--on-error", "null"]).out == nulls.out


AWKWARD_JSONL = (
    '{"x": 0.5, "y": 1}\r\n'
    "\r\n"
    '{"y": -2, "x": 1.5, "id": "b"}\r\n'
    '{"x": -1, "y": 1}\r\n'
    "   \n"
    '{"x": 2.5, "y": 0.25}\n'
    '{"x": 3, "y": "2"}\n'
    '{"x": 4, "y": 1}\n'
    "\n"
    '{"x": 5, "y": 0.001}\n'
    '{"x": 6, "y": 7}'
)


@pytest.mark.parametrize("rows", [1, 2, 3, 4, 5, 1000])
@pytest.mark.parametrize("where", ["file", "stdin"])
def test_awkward_jsonl_in_small_blocks(run, tmp_path, small_blocks, rows, where):
    small_blocks(rows=rows)
    path = write(tmp_path, "p.jsonl", AWKWARD_JSONL)
    points_arg = path if where == "file" else "-"
    result = run(["eval", LOGEXP, "--points", points_arg, "--on-error", "null"],
                 stdin=AWKWARD_JSONL if where == "stdin" else None)
    assert result.code == 0
    recs = jsonl_records(result.out, ["x", "y"])
    assert [rec.line for rec in recs] == [1, 3, 4, 6, 7, 8, 10, 11]
    assert [rec.line for rec in recs if rec.error] == [4, 7]
    assert [rec.error_type for rec in recs if rec.error] == ["domain", "input"]
    good = [{"x": x, "y": y} for x, y in [(0.5, 1.0), (1.5, -2.0), (2.5, 0.25), (4.0, 1.0), (5.0, 0.001), (6.0, 7.0)]]
    assert_matches_scalar([rec for rec in recs if not rec.error], LOGEXP, good)
    name = path if where == "file" else STDIN
    assert [text.split(": ")[1] for text in result.error_lines] == [f"{name} line 4", f"{name} line 7"]
    assert result.warning_lines == [f"warning: id in {name} is not an input of the program; it is not in the output"]

    stopped = run(["eval", LOGEXP, "--points", points_arg], stdin=AWKWARD_JSONL if where == "stdin" else None)
    assert stopped.code == 2
    assert [rec.line for rec in jsonl_records(stopped.out, ["x", "y"])] == [1, 3]


# --------------------------------------------------------------------------------------
# A larger run
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("in_fmt, out_fmt, count", [("csv", "csv", 20_000), ("jsonl", "jsonl", 5_000)])
def test_many_points_in_many_chunks(run, tmp_path, small_blocks, in_fmt, out_fmt, count):
    small_blocks(chars=1 << 16, rows=1_000)  # about a dozen chunks of CSV, five of JSON Lines
    rng = np.random.default_rng(13)
    columns = {"x": rng.normal(0.0, 5.0, count), "y": rng.normal(0.0, 5.0, count)}
    points = [{"x": float(x), "y": float(y)} for x, y in zip(columns["x"], columns["y"])]
    text = csv_text(["x", "y"], points) if in_fmt == "csv" else jsonl_text(points)
    path = write(tmp_path, "many." + in_fmt, text)
    result = run(["eval", PROGRAM, "--points", path])
    assert (result.code, result.err) == (0, "")
    recs = records(result.out, out_fmt, ["x", "y"])
    assert_bit_exact(recs, PROGRAM, columns)  # every row, in order
    assert_matches_scalar(recs[::50], PROGRAM, points[::50])  # and a sample against the scalar engine
    if out_fmt == "jsonl":
        assert [rec.line for rec in recs] == list(range(1, count + 1))


# --------------------------------------------------------------------------------------
# Progress bar
# --------------------------------------------------------------------------------------


def test_progress_leaves_stdout_unchanged(tmp_path, small_blocks):
    small_blocks(chars=256)
    points = random_points(200, seed=14)
    path = write(tmp_path, "points.csv", csv_text(["x", "y"], points))
    outputs = {}
    for flag in ("--progress", "--no-progress"):
        result = CliRunner().invoke(cli, ["eval", PROGRAM, "--points", str(path), flag], catch_exceptions=False)
        assert result.exit_code == 0
        outputs[flag] = result.stdout
    assert outputs["--progress"] == outputs["--no-progress"]
    assert_matches_scalar(csv_records(outputs["--progress"], ["x", "y"]), PROGRAM, points)


def test_no_progress_by_default_off_a_terminal(run, tmp_path):
    path = write(tmp_path, "points.csv", csv_text(["x", "y"], random_points(50, seed=15)))
    result = run(["eval", PROGRAM, "--points", path])
    assert (result.code, result.err) == (0, "")


# --------------------------------------------------------------------------------------
# Options that do not go together
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("extra, message", [
    (["--wrt", "x"], "--wrt and --mode forward"),
    (["--mode", "forward"], "--wrt and --mode forward"),
    (["--json", "--format", "csv"], "--json and --format csv do not go together"),
    (["--on-error", "ignore"], "'ignore' is not one of"),
    (["--format", "xml"], "'xml' is not one of"),
])
def test_options_that_do_not_go_with_points(run, tmp_path, extra, message):
    path = write(tmp_path, "p.csv", "x,y\n1,2\n")
    result = run(["eval", PROGRAM, "--points", path, *extra])
    assert result.code == 2
    assert message in result.err
    assert "x,y" not in result.out


def test_format_needs_points(run):
    result = run(["eval", PROGRAM, "x=1", "y=2", "--format", "csv"])
    assert result.code == 2
    assert "error: --format applies to --points" in result.err


@pytest.mark.parametrize("program_args", [["-"], ["-f", "-"]])
def test_program_and_points_cannot_both_come_from_stdin(run, program_args):
    result = run(["eval", *program_args, "--points", "-"], stdin="x*y\n")
    assert result.code == 2
    assert "the program and the points cannot both come from stdin" in result.err
    assert result.out == ""


def test_mode_reverse_is_allowed(run, tmp_path):
    path = write(tmp_path, "p.csv", "x,y\n1,2\n")
    result = run(["eval", "x*y", "--points", path, "--mode", "reverse"])
    assert (result.code, result.out) == (0, "x,y,value,d/dx,d/dy\n1.0,2.0,2.0,2.0,1.0\n")


# --------------------------------------------------------------------------------------
# The installed module, in a subprocess
# --------------------------------------------------------------------------------------


def run_module(argv, stdin: str | None = None, cwd=None) -> Run:
    env = {name: value for name, value in os.environ.items() if name not in STYLE_ENV}
    env["PYTHONIOENCODING"] = "utf-8"
    completed = subprocess.run(
        [sys.executable, "-m", "gradcli", *map(str, argv)], input=stdin, capture_output=True, text=True,
        encoding="utf-8", env=env, cwd=cwd, timeout=120,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def test_through_python_m_gradcli(tmp_path):
    points = random_points(100, seed=16)
    good = write(tmp_path, "points.csv", csv_text(["x", "y"], points))
    as_csv = run_module(["eval", PROGRAM, "--points", good], cwd=tmp_path)
    assert (as_csv.code, as_csv.err) == (0, "")
    assert_matches_scalar(csv_records(as_csv.out, ["x", "y"]), PROGRAM, points)

    piped = run_module(["eval", PROGRAM, "--points", "-", "--json"], stdin=jsonl_text(points), cwd=tmp_path)
    assert piped.code == 0
    assert_matches_scalar(jsonl_records(piped.out, ["x", "y"]), PROGRAM, points)

    mixed = write(tmp_path, "mixed.csv", MIXED_CSV)
    stopped = run_module(["eval", LOGEXP, "--points", mixed], cwd=tmp_path)
    assert stopped.code == 2
    assert len(read_csv(stopped.out)[1]) == 1
    assert f"error: {mixed} line 3: " in stopped.err and "--on-error" in stopped.err
    assert "Traceback" not in stopped.err



# --------------------------------------------------------------------------------------
# Awkward input: huge integers, several inputs fixed, BOMs, quoted line breaks, two objects on a line
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_huge_json_integer_is_a_bad_row(run, tmp_path, digits):
    path = write(tmp_path, "p.jsonl", '{"x": 1' + "0" * digits + '}\n{"x": 2}\n')
    result = run(["eval", "x*2", "--points", path, "--on-error", "null"])
    assert result.code == 0
    objs = read_jsonl(result.out)
    assert objs[0]["value"] is None and objs[1]["value"] == 4.0


def test_every_input_fixed_gives_one_row_per_point(run, tmp_path):
    path = write(tmp_path, "ids.csv", "id\na\nb\n")
    result = run(["eval", "x+y", "x=1", "y=2", "--points", path])
    assert result.code == 0
    assert result.out == "x,y,value,d/dx,d/dy\n1.0,2.0,3.0,1.0,1.0\n1.0,2.0,3.0,1.0,1.0\n"


def test_a_program_without_inputs_gives_one_row_per_point(run, tmp_path):
    path = write(tmp_path, "ids.csv", "id\na\nb\nc\n")
    result = run(["eval", "2+3", "--points", path])
    assert result.code == 0
    assert result.out == "value\n5.0\n5.0\n5.0\n"


def test_a_jsonl_key_that_is_also_fixed_is_refused(run, tmp_path):
    path = write(tmp_path, "p.jsonl", '{"x": 1, "y": 5}\n')
    result = run(["eval", "x*y", "y=2", "--points", path])
    assert "is not an input of the program" not in result.err
    assert result.code == 2
    assert "y is given on the command line" in result.err


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_a_bom_before_json_lines(run, tmp_path, where):
    text = '\ufeff{"x": 1}\n{"x": 2}\n'
    path = write(tmp_path, "p.jsonl", text)
    result = run(["eval", "x*2", "--points", path if where == "file" else "-"], stdin=text)
    assert result.code == 0
    assert [obj["value"] for obj in read_jsonl(result.out)] == [2.0, 4.0]


def test_a_quoted_text_field_with_a_line_break(run, tmp_path):
    path = write(tmp_path, "p.csv", 'id,x\n"a\nb",1\nc,2\n')
    result = run(["eval", "x*2", "--points", path, "--on-error", "null"])
    assert result.code == 0
    assert result.out == "x,value,d/dx,error\n1.0,2.0,2.0,\n2.0,4.0,2.0,\n"


def test_a_line_with_two_objects_is_a_bad_row_and_shifts_nothing(run, tmp_path):
    path = write(tmp_path, "p.jsonl", '{"x": 1}, {"x": 2}\n{"x": 3}\n{"x": 4}\n')
    result = run(["eval", "x*2", "--points", path, "--on-error", "null"])
    assert result.code == 0
    objs = read_jsonl(result.out)
    assert [obj["line"] for obj in objs] == [1, 2, 3]
    assert objs[0]["value"] is None and "not JSON" in objs[0]["error"]["message"]
    assert [obj["point"]["x"] for obj in objs[1:]] == [3.0, 4.0]


@pytest.mark.parametrize("separator", ["\u2028", "\x85"])
def test_a_line_separator_inside_a_json_string_on_the_first_line(run, tmp_path, separator):
    path = write(tmp_path, "p.jsonl", '{"x": 1, "note": "a' + separator + 'b"}\n{"x": 2}\n')
    result = run(["eval", "x*2", "--points", path])
    assert result.code == 0
    assert [(obj["line"], obj["value"]) for obj in read_jsonl(result.out)] == [(1, 2.0), (2, 4.0)]
