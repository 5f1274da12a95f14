"""Case files (`*.grad.toml`): gradient regression suites, read and validated.

A case file is TOML. Suite-wide defaults sit in `[suite]`; each `[[case]]`
names a program (inline, or a file relative to the case file), one or more
points, and what to assert there:

    [suite]
    rtol = 1e-9            # tolerance of expected values and gradients
    atol = 0.0
    method = "central"     # how `check` and `samples` estimate derivatives
    seed = 1               # for `samples`

    [[case]]
    name = "olah"
    program = "(a+b)*(b+1)"     # or: file = "olah.grad"
    check = true                # also a finite-difference self-check, as gradcli check
    samples = 20                # also checks at 20 random points (range, seed)
    range = { a = [-1, 1] }

    [[case.point]]
    at = { a = 2, b = 1 }
    value = 6
    gradient = { a = 2, b = 5 }
    claims = "claims.json"      # claimed gradient (JSON, as gradcli check --claims) checked here

A case with a single point may write it inline: `point = { a = 2, b = 1 }`
with `value` and `gradient` beside it. `rtol`/`atol` may be given per suite,
case or point. Errors name the file, the line, the case and the key, and say
what was expected. Line numbers come from a scan of the text (tomllib gives
none); they locate each case and point for reports and for `--update`.
"""

from __future__ import annotations

import math
import os
import re
from typing import NamedTuple

from .errors import GradcliError

SUFFIX = ".grad.toml"
DEFAULT_RTOL = 1e-9
DEFAULT_ATOL = 0.0
_CASE_HEADER = re.compile(r"^\s*\[\[\s*case\s*\]\]")
_POINT_HEADER = re.compile(r"^\s*\[\[\s*case\s*\.\s*point\s*\]\]")
_ANY_HEADER = re.compile(r"^\s*\[")
_SUITE_KEYS = {"rtol", "atol", "method", "seed"}
_CASE_KEYS = {"name", "program", "file", "point", "value", "gradient", "claims", "rtol", "atol", "check",
              "samples", "range", "seed", "method"}
_POINT_KEYS = {"at", "value", "gradient", "claims", "rtol", "atol"}
METHODS = ("central", "forward", "richardson", "complex")


class CaseFileError(GradcliError):
    """A case file that cannot be read or does not follow the format (exit 2)."""

    kind = "case-file"


class PointSpec(NamedTuple):
    at: dict[str, float]
    value: float | None  # None: not asserted yet (filled in, or a failure under CI)
    gradient: dict[str, float] | None
    claims: str | None  # path of a JSON file of claimed partials
    rtol: float
    atol: float
    line: int  # 1-based line of the point (its [[case.point]] header, or `point =`)
    block: tuple[int, int]  # lines [start, end) that belong to this point (for --update)


class CaseSpec(NamedTuple):
    name: str
    program: str
    program_file: str | None
    points: list[PointSpec]
    check: bool
    samples: int
    ranges: dict[str, tuple[float, float]]
    seed: int
    method: str
    line: int  # the case's [[case]] header


class SuiteSpec(NamedTuple):
    path: str
    text: str
    cases: list[CaseSpec]


def display_path(path: str, start: str = os.curdir) -> str:
    """`path` relative to `start` when it lies below it (GitHub annotates repository-relative paths)."""
    try:
        relative = os.path.relpath(path, start)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith(os.pardir) else relative


def find_case_files(paths: list[str]) -> list[str]:
    """The case files named, and every *.grad.toml below the directories named, sorted."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for directory, subdirectories, files in os.walk(path):
                subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
                found += [os.path.join(directory, f) for f in sorted(files) if f.endswith(SUFFIX)]
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise CaseFileError(f"no such file or directory: {path}", hint="give case files (*.grad.toml) or directories")
    return found


def load(path: str) -> SuiteSpec:
    import tomllib

    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise CaseFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CaseFileError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CaseFileError(f"{path}: not valid TOML: {exc}", hint="see https://toml.io for the syntax") from None
    return _Reader(path, text, data).suite()


class _Reader:
    def __init__(self, path: str, text: str, data: dict):
        self.path, self.text, self.data = path, text, data
        self.lines = text.splitlines()
        self.case_lines, self.point_lines = _header_lines(self.lines)
        self.in_strings = string_lines(self.lines)

    def fail(self, message: str, line: int | None = None, case: str | None = None, hint: str | None = None):
        where = f"{self.path}:{line}" if line else self.path
        who = f" (case {case!r})" if case else ""
        return CaseFileError(f"{where}{who}: {message}", hint=hint, details={"file": self.path, "line": line, "case": case})

    def suite(self) -> SuiteSpec:
        unknown = set(self.data) - {"suite", "case"}
        if unknown:
            raise self.fail(f"unknown top-level key(s): {', '.join(sorted(unknown))}", hint="use [suite] and [[case]]")
        defaults = self.data.get("suite", {})
        if not isinstance(defaults, dict):
            raise self.fail("`suite` must be a table: [suite]")
        suite_line = next((n for n, text in enumerate(self.lines, 1) if re.match(r"^\s*\[\s*suite\s*\]", text)), None)
        self.keys(defaults, _SUITE_KEYS, "[suite]", suite_line, None)
        first_case = self.case_lines[0] if self.case_lines else len(self.lines)
        for key in ("rtol", "atol"):
            if key in defaults:
                line = self.key_line(key, suite_line or 1, first_case) or suite_line
                self.number(defaults[key], f"{key}` in `[suite]", line, None, positive=True)
        if defaults.get("method", "central") not in METHODS:
            raise self.fail(f"`method` must be one of {', '.join(METHODS)}", suite_line)
        seed = defaults.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise self.fail(f"`seed` must be a whole number >= 0, not {seed!r}", suite_line)
        cases = self.data.get("case", [])
        if not isinstance(cases, list) or not cases:
            raise self.fail("no cases: add at least one [[case]] table", hint='[[case]]\nname = "..."\nprogram = "..."')
        specs, names = [], set()
        for index, case in enumerate(cases):
            spec = self.case(case, index, defaults)
            if spec.name in names:
                raise self.fail(f"two cases are named {spec.name!r}", spec.line, hint="case names must be unique in a file")
            names.add(spec.name)
            specs.append(spec)
        return SuiteSpec(self.path, self.text, specs)

    def keys(self, table: dict, allowed: set[str], what: str, line, case) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(f"unknown key `{unknown[0]}` in {what}", line, case, hint="allowed: " + ", ".join(sorted(allowed)))

    def number(self, value, key: str, line, case, positive=False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"`{key}` must be a number, not {value!r}", line, case)
        if positive and not (value >= 0 and math.isfinite(value)):
            raise self.fail(f"`{key}` must be a finite number >= 0, not {value!r}", line, case)
        return float(value)

    def numbers(self, table, key: str, line, case) -> dict[str, float]:
        if not isinstance(table, dict):
            raise self.fail(f"`{key}` must be a table of numbers, e.g. {key} = {{ x = 1.5 }}", line, case)
        return {name: self.number(v, f"{key}.{name}", line, case) for name, v in table.items()}

    def case(self, case, index: int, defaults: dict) -> CaseSpec:
        line = self.case_lines[index] if index < len(self.case_lines) else None
        if not isinstance(case, dict):
            raise self.fail("each case must be a [[case]] table", line)
        name = case.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(f"case {index + 1} has no `name`", line, hint='name = "a short name"')
        self.keys(case, _CASE_KEYS, "[[case]]", line, name)
        program, program_file = self.program(case, line, name)
        rtol = self.number(case.get("rtol", defaults.get("rtol", DEFAULT_RTOL)), "rtol", line, name, positive=True)
        atol = self.number(case.get("atol", defaults.get("atol", DEFAULT_ATOL)), "atol", line, name, positive=True)
        points = self.points(case, index, line, name, rtol, atol)
        method = case.get("method", defaults.get("method", "central"))
        if method not in METHODS:
            raise self.fail(f"`method` must be one of {', '.join(METHODS)}, not {method!r}", line, name)
        check = case.get("check", False)
        samples = case.get("samples", 0)
        seed = case.get("seed", defaults.get("seed", 0))
        if not isinstance(check, bool):
            raise self.fail("`check` must be true or false", line, name)
        for key, value in (("samples", samples), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise self.fail(f"`{key}` must be a whole number >= 0, not {value!r}", line, name)
        ranges = {}
        if not isinstance(case.get("range", {}), dict):
            raise self.fail("`range` must be a table, e.g. range = { x = [-1, 1] }", line, name)
        for input_name, bounds in (case.get("range") or {}).items():
            if not (isinstance(bounds, list) and len(bounds) == 2):
                raise self.fail(f"`range.{input_name}` must be [low, high]", line, name)
            low, high = (self.number(b, f"range.{input_name}", line, name) for b in bounds)
            if not low < high:
                raise self.fail(f"`range.{input_name}` needs low < high, not [{low}, {high}]", line, name)
            ranges[input_name] = (low, high)
        return CaseSpec(name, program, program_file, points, check, samples, ranges, seed, method, line or 0)

    def program(self, case: dict, line, name) -> tuple[str, str | None]:
        if ("program" in case) == ("file" in case):
            raise self.fail("give exactly one of `program` (the text) and `file` (a path)", line, name)
        if "program" in case:
            if not isinstance(case["program"], str):
                raise self.fail("`program` must be a string", line, name)
            return case["program"], None
        relative = case["file"]
        if not isinstance(relative, str):
            raise self.fail("`file` must be a path string", line, name)
        path = os.path.join(os.path.dirname(self.path), relative)
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read(), path
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise self.fail(f"cannot read program file {relative!r} ({path}): {reason}", line, name,
                            hint="`file` is relative to the case file") from None

    def points(self, case: dict, index: int, line, name, rtol, atol) -> list[PointSpec]:
        block_end = self.case_lines[index + 1] - 1 if index + 1 < len(self.case_lines) else len(self.lines)
        headers = [n for n in self.point_lines if (line or 0) < n <= block_end]
        inline = {key: case[key] for key in ("point", "value", "gradient", "claims") if key in case}
        listed = case.get("point")
        if isinstance(listed, list):  # [[case.point]] tables
            if len(headers) != len(listed):
                raise self.fail("write several points as [[case.point]] tables, not as an inline array",
                                line, name, hint="[[case.point]]\nat = { x = 1 }")
            if set(inline) - {"point"}:
                raise self.fail("`value`, `gradient` and `claims` go inside each [[case.point]]", line, name)
            points = []
            for k, table in enumerate(listed):
                start = headers[k] if k < len(headers) else line
                end = (headers[k + 1] - 1) if k + 1 < len(headers) else block_end
                points.append(self.point(table, start, (start, end + 1), name, rtol, atol))
            if not points:
                raise self.fail("no points: add a [[case.point]] with `at = {...}`", line, name)
            return points
        if listed is None:
            raise self.fail("no point: add `point = { x = 1 }` or [[case.point]] tables", line, name)
        # `point = {...}` inline: the case block up to its first point header is the point's block.
        own_end = headers[0] - 1 if headers else block_end
        point_line = self.key_line("point", line or 1, own_end) or line
        table = {"at": listed, **{k: v for k, v in inline.items() if k != "point"}}
        return [self.point(table, point_line, (line or 1, own_end + 1), name, rtol, atol)]

    def point(self, table, line, block, name, rtol, atol) -> PointSpec:
        if not isinstance(table, dict):
            raise self.fail("a point must be a table", line, name)
        self.keys(table, _POINT_KEYS, "a point", line, name)
        if "at" not in table:
            raise self.fail("a point needs `at = { name = value, ... }`", line, name)
        at = self.numbers(table["at"], "at", line, name)
        value = self.number(table["value"], "value", line, name) if "value" in table else None
        gradient = self.numbers(table["gradient"], "gradient", line, name) if "gradient" in table else None
        claims = table.get("claims")
        if claims is not None:
            if not isinstance(claims, str):
                raise self.fail("`claims` must be the path of a JSON file", line, name)
            claims = os.path.join(os.path.dirname(self.path), claims)
        point_rtol = self.number(table.get("rtol", rtol), "rtol", line, name, positive=True)
        point_atol = self.number(table.get("atol", atol), "atol", line, name, positive=True)
        return PointSpec(at, value, gradient, claims, point_rtol, point_atol, line, block)

    def key_line(self, key: str, start: int, end: int) -> int | None:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start, min(end, len(self.lines)) + 1):
            if number not in self.in_strings and pattern.match(self.lines[number - 1]):
                return number
        return None


def string_lines(lines: list[str]) -> set[int]:
    """1-based numbers of the lines that begin inside a multi-line string.

    A small scanner of TOML's four string forms and comments, so that text
    inside a program written as a multi-line string, or \"\"\" in a comment, is
    never taken for a header or a key.
    """
    inside: set[int] = set()
    state = None  # None, '"""' or "'''" (multi-line strings continue across lines)
    for number, line in enumerate(lines, start=1):
        if state is not None:
            inside.add(number)
        index = 0
        while index < len(line):
            if state is not None:
                close = line.find(state, index)
                if close == -1:
                    break
                index, state = close + 3, None
                continue
            char = line[index]
            if char == "#":
                break
            if line.startswith(('"""', "'''"), index):
                state, index = line[index : index + 3], index + 3
            elif char in "\"'":
                index += 1
                while index < len(line) and line[index] != char:
                    index += 2 if char == '"' and line[index] == "\\" else 1
                index += 1
            else:
                index += 1
    return inside


def _header_lines(lines: list[str]) -> tuple[list[int], list[int]]:
    """1-based lines of every [[case]] and [[case.point]] header, outside multi-line strings."""
    cases, points = [], []
    skip = string_lines(lines)
    for number, line in enumerate(lines, start=1):
        if number in skip:
            continue
        if _CASE_HEADER.match(line):
            cases.append(number)
        elif _POINT_HEADER.match(line):
            points.append(number)
    return cases, points
