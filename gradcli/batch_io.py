"""Points in, results out, for batch evaluation: CSV and JSON Lines, in chunks.

Readers turn a stream into chunks of columns (NumPy arrays) plus per-row
problems (a missing column, a non-number), so memory stays bounded for any
number of points. Writers turn a chunk's numbers back into text. Numbers are
written with Python's repr, the shortest text that reads back as the same
double. Nothing here evaluates anything; cli_batch.py connects the pieces.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from typing import Iterator, TextIO

import numpy as np

from .errors import InputError

# Characters per block read from a CSV stream: about 100,000 rows of two
# numbers, enough to amortise every per-block step.
BLOCK_CHARS = 1 << 22
JSONL_ROWS = 20_000


class PointChunk:
    """Consecutive rows of a points file.

    `columns` maps each column the program needs to one float per row (NaN
    where the row has a problem); `problems` maps a row's index in the chunk
    to what is wrong with it; `lines` gives each row's line in the file.
    """

    def __init__(self, columns: dict[str, np.ndarray], lines: np.ndarray, problems: dict[int, str], size: int):
        self.columns = columns
        self.lines = lines
        self.problems = problems
        self.size = size  # characters of input consumed, for progress

    def __len__(self) -> int:
        return len(self.lines)


def detect_format(path: str, first_line: str) -> str:
    """csv or jsonl, from the file name, else from the first line's first character."""
    lower = path.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if first_line.lstrip().startswith("{") else "csv"


class PointsReader:
    """Reads points for the columns in `needed` from an open text stream."""

    def __init__(self, stream: TextIO, name: str, fmt: str, needed: list[str], read_ahead: str = ""):
        self.stream = stream
        self.name = name
        self.fmt = fmt
        self.needed = needed
        self.ignored: list[str] = []  # columns (or keys) that are not needed
        self._line = 0  # lines consumed so far
        self._pending = read_ahead  # text already taken from the stream (to detect the format)
        if fmt == "csv":
            self._read_header()

    # -- CSV -------------------------------------------------------------------------------

    def _read_header(self) -> None:
        line = self._next_line()
        while line is not None and not line.strip():
            line = self._next_line()
        if line is None:
            raise InputError(f"{self.name} is empty", hint="the first line names the columns, e.g. x,y")
        header = [name.strip() for name in next(csv.reader([line.lstrip("\ufeff")]))]
        seen = set()
        for name in header:
            if name in seen:
                raise InputError(f"{self.name} line {self._line}: the column {name!r} appears twice")
            seen.add(name)
        missing = [name for name in self.needed if name not in header]
        if missing:
            raise InputError(
                f"{self.name} has no column for {', '.join(missing)} (its header line is {line.strip()!r})",
                hint="the first line names the columns; give each input a column, or a fixed value "
                + " ".join(f"{name}=..." for name in missing) + " on the command line",
            )
        self.header = header
        self.ignored = [name for name in header if name not in self.needed]
        self._positions = [header.index(name) for name in self.needed]

    def _next_line(self) -> str | None:
        if self._pending:
            line, sep, rest = self._pending.partition("\n")
            if sep:
                self._pending = rest
                self._line += 1
                return line + "\n"
            self._pending = ""
            line += self.stream.readline()
        else:
            line = self.stream.readline()
        if not line:
            return None
        self._line += 1
        return line

    def chunks(self) -> Iterator[PointChunk]:
        return self._csv_chunks() if self.fmt == "csv" else self._jsonl_chunks()

    def _csv_chunks(self) -> Iterator[PointChunk]:
        width = len(self.header)
        while True:
            block = self._pending + self.stream.read(BLOCK_CHARS)
            self._pending = ""
            if not block:
                return
            if not block.endswith("\n"):
                block += self.stream.readline()  # finish the last line
            while block.count('"') % 2:  # and a quoted field with line breaks in it
                more = self.stream.readline()
                if not more:
                    break
                block += more
            first_line = self._line + 1
            count = block.count("\n") + (not block.endswith("\n"))
            self._line += count
            yield self._parse_csv_block(block, first_line, count, width)

    def _parse_csv_block(self, block: str, first_line: int, count: int, width: int) -> PointChunk:
        # Fast path: no quotes, no blank lines, every line with as many fields
        # as the header, and the needed fields all numbers.
        flat = block.replace("\r", "")
        if '"' not in flat and "\n\n" not in flat and not flat.startswith("\n") and _fields_per_line_are(flat, width):
            joined = flat.replace("\n", ",").rstrip(",")
            table = _numbers(joined)  # every field a number: one call for the block
            if table is not None and table.size == count * width:
                table = table.reshape(count, width)
                columns = {name: table[:, position].copy() for name, position in zip(self.needed, self._positions)}
                return PointChunk(columns, np.arange(first_line, first_line + count), {}, len(block))
            fields = joined.split(",")  # some other column is text (an id, a label): the needed ones only
            columns = {}
            for name, position in zip(self.needed, self._positions):
                numbers = _numbers(",".join(fields[position::width]))
                if numbers is None or numbers.size != count:
                    break
                columns[name] = numbers
            else:
                return PointChunk(columns, np.arange(first_line, first_line + count), {}, len(block))
        return self._parse_csv_rows(block, first_line, width)

    def _parse_csv_rows(self, block: str, first_line: int, width: int) -> PointChunk:
        """The careful path: row by row, naming what is wrong with each bad row."""
        lines, rows, problems = [], [], {}
        records = csv.reader(io.StringIO(block, newline=""))
        line_number = first_line  # where the next record starts (a quoted field may span lines)
        for fields in records:
            number = line_number
            line_number = first_line + records.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # blank lines are not points
            row = []
            problem = None
            if len(fields) != width:
                problem = f"{len(fields)} field{'s' if len(fields) != 1 else ''} where the header has {width}"
            for name, position in zip(self.needed, self._positions):
                text = fields[position].strip() if position < len(fields) else ""
                value = math.nan
                if problem is None:
                    if not text:
                        problem = f"column {name} is empty"
                    else:
                        try:
                            value = float(text)
                        except ValueError:
                            problem = f"column {name}: {text!r} is not a number"
                row.append(value)
            if problem is not None:
                problems[len(rows)] = problem
            lines.append(number)
            rows.append(row)
        table = np.array(rows, dtype=np.float64).reshape(len(rows), len(self.needed))
        columns = {name: table[:, index].copy() for index, name in enumerate(self.needed)}
        return PointChunk(columns, np.array(lines, dtype=np.int64), problems, len(block))

    # -- JSON Lines --------------------------------------------------------------------------

    def _jsonl_chunks(self) -> Iterator[PointChunk]:
        # Line breaks are \n only: str.splitlines would also break at U+2028, legal inside JSON strings.
        source = itertools.chain(io.StringIO(self._pending, newline=""), self.stream)
        self._pending = ""
        while True:
            block = list(itertools.islice(source, JSONL_ROWS))
            if not block:
                return
            first = self._line + 1
            self._line += len(block)
            kept = [i for i, line in enumerate(block) if line.strip()]  # blank lines are not points
            texts = block if len(kept) == len(block) else [block[i] for i in kept]
            lines = np.array(kept, dtype=np.int64) + first
            size = sum(map(len, block))
            if not texts:
                continue
            columns = self._jsonl_block(texts)
            problems = {}
            if columns is None:  # the careful path: row by row, naming what is wrong
                rows = []
                for line in texts:
                    row, problem = self._jsonl_row(line)
                    if problem is not None:
                        problems[len(rows)] = problem
                    rows.append(row)
                table = np.array(rows, dtype=np.float64).reshape(len(rows), len(self.needed))
                columns = {name: table[:, index].copy() for index, name in enumerate(self.needed)}
            yield PointChunk(columns, lines, problems, size)

    def _jsonl_block(self, texts: list[str]) -> dict[str, np.ndarray] | None:
        """The needed columns of rows that are all objects of numbers, in bulk; None if any row is not."""
        import orjson

        joined = ",".join(texts)
        if "true" in joined or "false" in joined or "null" in joined:
            return None  # JSON values that NumPy would take for numbers
        try:
            points = orjson.loads("[" + joined + "]")
        except orjson.JSONDecodeError:
            return None
        if len(points) != len(texts) or not all(type(point) is dict for point in points):
            return None  # not one object per line (e.g. two on one line): the careful path says where
        columns = {}
        for name in self.needed:
            try:
                column = np.array([point[name] for point in points])
            except (KeyError, ValueError):
                return None
            if column.dtype.kind not in "if":  # text or nested values
                return None
            columns[name] = column.astype(np.float64)
        self._note_ignored(dict.fromkeys(itertools.chain.from_iterable(points)))
        return columns

    def _note_ignored(self, keys) -> None:
        self.ignored += [key for key in keys if key not in self.needed and key not in self.ignored]

    def _jsonl_row(self, line: str) -> tuple[list[float], str | None]:
        needed = self.needed
        try:
            point = json.loads(line)
        except json.JSONDecodeError as exc:
            return [math.nan] * len(needed), f"not JSON: {exc.msg} at column {exc.colno}"
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            return [math.nan] * len(needed), f"not readable: {exc}"
        if not isinstance(point, dict):
            return [math.nan] * len(needed), f"a JSON {type(point).__name__}, not an object of numbers"
        row, problem = [], None
        for name in needed:
            value = point.get(name)
            if name not in point:
                problem = problem or f"no value for {name}"
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                problem = problem or f"{name}: {json.dumps(value)} is not a number"
            else:
                try:
                    row.append(float(value))
                    continue
                except OverflowError:  # an integer beyond the doubles
                    problem = problem or f"{name}: an integer too large for a double"
            row.append(math.nan)  # the readable values of a bad row are still shown
        self._note_ignored(point)
        return row, problem


def _numbers(joined: str) -> np.ndarray | None:
    """Floats from comma-separated number texts, or None if any is not a number (the careful path then says which)."""
    import orjson

    # JSON's number syntax covers what programs write, and orjson reads it
    # fastest; true, false and null are JSON but not numbers (every other
    # non-number, such as [1] or "1", fails below).
    if "t" not in joined and "f" not in joined and "n" not in joined:
        try:
            return np.array(orjson.loads("[" + joined + "]"), dtype=np.float64)
        except (orjson.JSONDecodeError, TypeError, ValueError, OverflowError):
            pass
    try:  # "1.", "+1", "inf", "1_000": what Python's float() reads
        return np.array(joined.split(","), dtype=np.float64)
    except ValueError:
        return None


def _fields_per_line_are(block: str, width: int) -> bool:
    """Whether every line of `block` has width - 1 commas (counted in bulk, not line by line)."""
    data = np.frombuffer(block.encode("utf-8"), dtype=np.uint8)
    commas = np.flatnonzero(data == ord(","))
    ends = np.flatnonzero(data == ord("\n"))
    if not block.endswith("\n"):
        ends = np.append(ends, len(data))
    per_line = np.diff(np.searchsorted(commas, ends), prepend=0)
    return bool((per_line == width - 1).all())


# -- writers ---------------------------------------------------------------------------------


def number_rows(columns: list[np.ndarray], strict_json: bool = False) -> list[str]:
    """Each row's numbers, comma-separated, as the shortest texts that read back as the same doubles.

    Non-finite numbers are nan, inf, -inf (what Python, NumPy and pandas read),
    or with strict_json the strings "NaN", "Infinity", "-Infinity".
    """
    return number_text(columns, strict_json).split("\n") if columns and len(columns[0]) else []


def number_text(columns: list[np.ndarray], strict_json: bool = False) -> str:
    """number_rows joined by line breaks, made in bulk."""
    import orjson

    table = np.column_stack(columns)
    # orjson writes a whole array in one call, about 7x faster than repr per number.
    text = orjson.dumps(table, option=orjson.OPT_SERIALIZE_NUMPY).decode()[2:-2].replace("],[", "\n")
    finite = np.isfinite(table).all(axis=1)
    if finite.all():
        return text
    rows = text.split("\n")  # orjson wrote null for non-finite numbers: rewrite those rows
    for i in np.flatnonzero(~finite).tolist():
        rows[i] = ",".join(_number_text(v, strict_json) for v in table[i].tolist())
    return "\n".join(rows)


def _number_text(value: float, strict_json: bool) -> str:
    if math.isfinite(value) or not strict_json:
        return repr(value)
    return '"NaN"' if value != value else ('"Infinity"' if value > 0 else '"-Infinity"')


def _null_if_nan(text: str) -> str:
    return "null" if text == '"NaN"' else text


def _csv_field(text: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


def _d(label: str) -> str:
    return label if label.isidentifier() else f"({label})"


class CsvWriter:
    """The inputs, value, d/d<input>... of each point; with `with_errors` also an error column.

    With several `outputs` (their labels), each output's value and gradient in turn:
    u, du/dx, du/dy, v, dv/dx, dv/dy (`numbers` come in that order).
    """

    def __init__(self, stream: TextIO, inputs: list[str], with_errors: bool, outputs: list[str] | None = None):
        self.stream = stream
        self.inputs = inputs
        self.with_errors = with_errors
        if outputs is None:
            derivatives = ["value"] + [f"d/d{name}" for name in inputs]
        else:
            derivatives = [
                column for label in outputs for column in [label] + [f"d{_d(label)}/d{name}" for name in inputs]
            ]
        header = inputs + derivatives + (["error"] if with_errors else [])
        stream.write(",".join(map(_csv_field, header)) + "\n")

    def write(self, lines: np.ndarray, points: list[np.ndarray], numbers: list[np.ndarray], errors: dict[int, str],
              keep) -> None:
        """Rows `keep` (indices into the chunk, None: all); `errors` rows get empty numbers and, with an error column, the reason.

        `lines` (each row's line in the points) is not written: a CSV row stands for its point by its place.
        """
        columns = points + numbers
        if keep is not None:
            columns = [column[keep] for column in columns]
        if not len(columns[0]):
            return
        if not errors and not self.with_errors:
            self.stream.write(number_text(columns) + "\n")  # the common case, in bulk
            return
        rows = number_rows(columns)
        blank = "," * len(numbers)
        for at, row in enumerate(range(len(rows)) if keep is None else keep):
            if row in errors:
                echo = ",".join("" if t == "nan" else t for t in rows[at].split(",")[: len(points)])
                rows[at] = f"{echo}{blank}" + ("," + _csv_field(errors[row]) if self.with_errors else "")
            elif self.with_errors:
                rows[at] += ","
        self.stream.write("\n".join(rows) + "\n")


class JsonlWriter:
    """One object per point: {"line", "point", "value", "gradient"}, or "error" in place of the numbers.

    With several `outputs` (their labels): {"line", "point", "values", "jacobian"}, as
    `gradcli eval --json` names them; `numbers` come output by output, value then gradient.
    """

    def __init__(self, stream: TextIO, inputs: list[str], outputs: list[str] | None = None):
        self.stream = stream
        self.keys = [json.dumps(name) for name in inputs]
        self.outputs = outputs
        pairs = ", ".join(f"{key}: {{}}" for key in self.keys)  # names are identifiers: no braces to escape
        head = '{{"line": {}, "point": {{' + pairs + "}}, "
        if outputs is None:
            self.template = head + '"value": {}, "gradient": {{' + pairs + "}}}}"
            self.error_template = head + '"value": null, "gradient": null, "error": {}}}'
        else:
            # Labels are expressions: their braces must not reach str.format.
            labels = [json.dumps(label).replace("{", "{{").replace("}", "}}") for label in outputs]
            values = ", ".join(f"{label}: {{}}" for label in labels)
            rows = ", ".join(f"{label}: {{{{" + pairs + "}}" for label in labels)
            self.template = head + '"values": {{' + values + '}}, "jacobian": {{' + rows + "}}}}"
            self.error_template = head + '"values": null, "jacobian": null, "error": {}}}'

    def write(self, lines: np.ndarray, points: list[np.ndarray], numbers: list[np.ndarray], errors: dict[int, dict],
              keep) -> None:
        rows = np.arange(len(lines)) if keep is None else keep
        if not len(rows):
            return
        if self.outputs is not None:  # the template lists every value first, then every gradient
            step = len(self.keys) + 1
            numbers = numbers[::step] + [column for k in range(0, len(numbers), step) for column in numbers[k + 1 : k + step]]
        width = len(points) + len(numbers)
        fields = number_text([column[rows] for column in points + numbers], strict_json=True).replace("\n", ",").split(",")
        columns = [fields[i::width] for i in range(width)]
        out = list(map(self.template.format, lines[rows].tolist(), *columns))
        position = {row: at for at, row in enumerate(rows.tolist())} if errors else {}
        for row, error in errors.items():
            at = position.get(row)
            if at is not None:
                # A NaN input is one that could not be read (a NaN that was read is an error too): null.
                point = [_null_if_nan(column[at]) for column in columns[: len(points)]]
                out[at] = self.error_template.format(lines[row], *point, json.dumps(error))
        self.stream.write("\n".join(out) + "\n")
