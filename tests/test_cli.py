"""The command line: `gradcli eval`, its output, its errors and its exit codes.

Three ways in: click's CliRunner on gradcli.cli.cli (success paths: errors
are turned into exit codes by main(), not by the click group),
gradcli.cli.main(argv) with capsys, and the installed console script /
`python -m gradcli` in a subprocess. stdout, stderr and the exit code are
checked separately. Expected numbers come from issue 2 or closed forms.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata

import pytest
from click.testing import CliRunner

import gradcli
from gradcli.cli import cli, main

HEADLINE = "(a+b)*(b+1)"
OLAH = "c = a + b; d = b + 1; e = c * d"
ANSI = "\x1b"
# Environment variables that change how rich and click decide about colour and width.
STYLE_ENV = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES", "CLICOLOR", "CLICOLOR_FORCE", "PY_COLORS")


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def strict_json(text: str):
    """Parse JSON that must not contain NaN, Infinity or -Infinity literals."""

    def reject(constant):
        raise ValueError(f"non-standard JSON constant {constant!r}")

    return json.loads(text, parse_constant=reject)


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    for name in STYLE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run_main(capsys, monkeypatch):
    """gradcli.cli.main(argv) in-process: (exit code, stdout, stderr)."""

    def run(argv, stdin: str | None = None, env: dict | None = None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def run_clirunner(argv, stdin: str | None = None, env: dict | None = None):
    result = CliRunner().invoke(cli, list(argv), input=stdin, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def subprocess_env(**extra) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in STYLE_ENV}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def gradcli_executable() -> str:
    path = shutil.which("gradcli")
    assert path, "the gradcli console script is not on PATH"
    return path


def run_process(argv, stdin: str | None = None, env: dict | None = None, module: bool = False, cwd=None):
    command = [sys.executable, "-m", "gradcli"] if module else [gradcli_executable()]
    completed = subprocess.run(
        command + list(argv),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env or subprocess_env(),
        cwd=cwd,
        timeout=120,
    )
    return completed.returncode, completed.stdout, completed.stderr


@pytest.fixture(params=["clirunner", "main", "script", "module"])
def run_any(request, run_main, tmp_path):
    """Every way in, for commands that succeed."""
    way = request.param

    def run(argv, stdin=None):
        if way == "clirunner":
            return run_clirunner(argv, stdin)
        if way == "main":
            return run_main(argv, stdin)
        # run from another directory: the installed package must find its grammar
        return run_process(argv, stdin, module=(way == "module"), cwd=tmp_path)

    return run


@pytest.fixture(params=["main", "script"])
def run_failing(request, run_main, tmp_path):
    """Ways in that turn errors into exit codes (main() and the console script)."""
    way = request.param

    def run(argv, stdin=None):
        if way == "main":
            return run_main(argv, stdin)
        return run_process(argv, stdin, cwd=tmp_path)

    return run


def table_rows(text: str) -> list[list[str]]:
    """The body rows of rich tables, as lists of stripped cells."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if len(line) > 1 and line[0] in "│|" and line[-1] in "│|":
            rows.append([cell.strip() for cell in re.split(r"[│|]", line)[1:-1]])
    return rows


def node_rows(text: str) -> list[list[str]]:
    return [row for row in table_rows(text) if row and row[0].isdigit()]


def node_row(text: str, label: str) -> list[str]:
    matches = [row for row in node_rows(text) if row[1] == label]
    assert len(matches) == 1, (label, node_rows(text))
    return matches[0]


def caret_offset(stderr: str, source_line: str) -> int | None:
    """Column (0-based) under which the caret line below `source_line` points."""
    lines = stderr.splitlines()
    for index, line in enumerate(lines[:-1]):
        if source_line and line.endswith(source_line) and "^" in lines[index + 1]:
            return lines[index + 1].index("^") - (len(line) - len(source_line))
    return None


def no_traceback(*streams: str) -> None:
    for stream in streams:
        assert "Traceback" not in stream
        assert 'File "' not in stream


def by_text(data: dict) -> dict:
    return {node["text"]: node for node in data["nodes"]}


# --------------------------------------------------------------------------------------
# The headline example
# --------------------------------------------------------------------------------------


def test_headline_json(run_any):
    code, out, err = run_any(["eval", HEADLINE, "a=2", "b=1", "--json"])
    assert code == 0
    assert err == ""
    data = strict_json(out)
    assert isinstance(data["schema_version"], int)
    assert data["program"] == HEADLINE
    assert data["point"] == {"a": 2, "b": 1}
    assert data["value"] == 6
    assert data["gradient"] == {"a": 2, "b": 5}
    assert list(data["gradient"]) == ["a", "b"]
    assert data["warnings"] == []

    nodes = data["nodes"]
    assert [node["id"] for node in nodes] == list(range(len(nodes)))
    for node in nodes:
        assert {"id", "op", "name", "text", "span", "inputs", "value", "partials", "adjoint"} <= node.keys()
        start, end = node["span"]
        assert HEADLINE[start:end] == node["text"]
        assert all(arg < node["id"] for arg in node["inputs"])
        assert len(node["partials"]) == len(node["inputs"])

    texts = by_text(data)
    out_node, left, right = texts[HEADLINE], texts["a+b"], texts["b+1"]
    assert (out_node["op"], out_node["value"], out_node["adjoint"]) == ("mul", 6, 1)
    assert out_node["inputs"] == [left["id"], right["id"]]
    assert out_node["partials"] == [2, 3]  # de/dc = d = 2, de/dd = c = 3
    assert (left["op"], left["value"], left["adjoint"], left["partials"]) == ("add", 3, 2, [1, 1])
    assert (right["op"], right["value"], right["adjoint"]) == ("add", 2, 3)
    inputs = {node["name"]: node for node in nodes if node["op"] == "input"}
    assert inputs.keys() == {"a", "b"}
    assert (inputs["a"]["value"], inputs["a"]["adjoint"]) == (2, 2)
    assert (inputs["b"]["value"], inputs["b"]["adjoint"]) == (1, 5)


def test_headline_human(run_any):
    code, out, err = run_any(["eval", HEADLINE, "a=2", "b=1"])
    assert code == 0
    assert err == ""
    assert HEADLINE in out
    assert re.search(r"\ba\s*=\s*2\b", out) and re.search(r"\bb\s*=\s*1\b", out)  # the point
    assert re.search(r"\bvalue\b\s+6\b", out)
    gradient = {row[0]: row for row in table_rows(out) if len(row) == 3 and row[0] in ("a", "b")}
    assert gradient["a"][-1] == "2"
    assert gradient["b"][-1] == "5"
    row = node_row(out, HEADLINE)
    assert row[2] == "mul" and row[4] == "6" and row[-1] == "1"
    assert re.search(r"=\s*2\b", row[5]) and re.search(r"=\s*3\b", row[5])  # local partials 2 and 3
    row = node_row(out, "a+b")
    assert row[2] == "add" and row[4] == "3" and row[-1] == "2"
    row = node_row(out, "b+1")
    assert row[2] == "add" and row[4] == "2" and row[-1] == "3"
    assert node_row(out, "a")[-1] == "2"
    assert node_row(out, "b")[-1] == "5"


def test_olah_human_shows_named_edge_labels(run_main):
    code, out, err = run_main(["eval", OLAH, "a=2", "b=1"])
    assert code == 0
    assert "de/dc = 2" in out
    assert "de/dd = 3" in out
    assert node_row(out, "e")[4] == "6"


@pytest.mark.parametrize("program", [HEADLINE, OLAH])
def test_forward_mode_gives_the_same_gradient(run_main, program):
    code, out, err = run_main(["eval", program, "a=2", "b=1", "--mode", "forward", "--json"])
    assert code == 0
    data = strict_json(out)
    assert data["value"] == 6
    assert data["gradient"] == {"a": 2, "b": 5}
    code, out, err = run_main(["eval", program, "a=2", "b=1", "--mode=forward"])
    assert code == 0
    gradient = {row[0]: row[-1] for row in table_rows(out) if len(row) == 3}
    assert gradient["a"] == "2" and gradient["b"] == "5"


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_wrt_adds_tangents(run_main, mode):
    code, out, err = run_main(["eval", OLAH, "a=2", "b=1", "--wrt", "b", "--mode", mode, "--json"])
    assert code == 0
    data = strict_json(out)
    assert data["gradient"] == {"a": 2, "b": 5}
    tangents = {node["name"]: node["tangent"]["b"] for node in data["nodes"] if node["name"]}
    # Olah's forward-mode picture from b: db/db = 1, dc/db = 1, dd/db = 1, de/db = 5
    assert tangents == {"a": 0, "b": 1, "c": 1, "d": 1, "e": 5}

    code, out, err = run_main(["eval", OLAH, "a=2", "b=1", "--wrt", "b", "--mode", mode])
    assert code == 0
    assert [node_row(out, name)[-1] for name in ("a", "b", "c", "d", "e")] == ["0", "1", "1", "1", "5"]


# --------------------------------------------------------------------------------------
# Programs beginning with '-', stdin, files, option order
# --------------------------------------------------------------------------------------


def test_program_beginning_with_minus(run_any):
    code, out, err = run_any(["eval", "-x^2", "x=3", "--json"])
    assert code == 0
    data = strict_json(out)
    assert data["value"] == -9  # -(3^2)
    assert data["gradient"] == {"x": -6}


def test_program_beginning_with_minus_human(run_failing):
    code, out, err = run_failing(["eval", "-x^2", "x=3"])
    assert code == 0
    assert re.search(r"\bvalue\b\s+-9\b", out)
    assert {row[0]: row[-1] for row in table_rows(out) if len(row) == 3}["x"] == "-6"


@pytest.mark.parametrize(
    "program, value, derivative",
    [("--x", 3, 1), ("--x + 1", 4, 1), ("- x", -3, -1), ("-(x)*2", -6, -2), ("-1 + x", 2, 1)],
)
def test_other_programs_beginning_with_minus(run_main, program, value, derivative):
    code, out, err = run_main(["eval", program, "x=3", "--json"])
    assert (code, err) == (0, "")
    data = strict_json(out)
    assert data["value"] == value
    assert data["gradient"] == {"x": derivative}


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--json", HEADLINE, "a=2", "b=1"],
        ["eval", HEADLINE, "--json", "a=2", "b=1"],
        ["eval", HEADLINE, "a=2", "--json", "b=1"],
        ["eval", "--mode", "forward", "--json", HEADLINE, "a=2", "b=1"],
        ["eval", HEADLINE, "a=2", "b=1", "--max-nodes", "5", "--json"],
        ["eval", "--json", "--", HEADLINE, "a=2", "b=1"],
    ],
)
def test_options_before_or_after_the_program(run_main, argv):
    code, out, err = run_main(argv)
    assert code == 0
    data = strict_json(out)
    assert (data["value"], data["gradient"]) == (6, {"a": 2, "b": 5})


def test_program_from_stdin(run_any):
    program = "# Olah's staged example\nc = a + b\nd = b + 1\ne = c * d\n"
    code, out, err = run_any(["eval", "-", "a=2", "b=1", "--json"], stdin=program)
    assert code == 0
    data = strict_json(out)
    assert data["program"] == program
    assert (data["value"], data["gradient"]) == (6, {"a": 2, "b": 5})


def test_program_beginning_with_minus_from_stdin(run_main):
    code, out, err = run_main(["eval", "-", "x=3", "--json"], stdin="-x^2\n")
    assert code == 0
    assert strict_json(out)["value"] == -9


@pytest.mark.parametrize("where", ["before", "after", "long", "equals"])
def test_program_from_file(run_main, tmp_path, where):
    path = tmp_path / "olah.grad"
    path.write_text("# from a file\nc = a + b\n\nd = b + 1   # shifted\ne = c * d\n", encoding="utf-8")
    argv = {
        "before": ["eval", "-f", str(path), "a=2", "b=1", "--json"],
        "after": ["eval", "a=2", "b=1", "--json", "-f", str(path)],
        "long": ["eval", "--file", str(path), "a=2", "b=1", "--json"],
        "equals": ["eval", f"--file={path}", "a=2", "b=1", "--json"],
    }[where]
    code, out, err = run_main(argv)
    assert code == 0
    data = strict_json(out)
    assert (data["value"], data["gradient"]) == (6, {"a": 2, "b": 5})


def test_program_file_through_the_script(tmp_path):
    path = tmp_path / "p.grad"
    path.write_text("y = -x^2\ny * 2\n", encoding="utf-8")
    code, out, err = run_process(["eval", "-f", str(path), "x=3", "--json"], cwd=tmp_path)
    assert code == 0
    data = strict_json(out)
    assert (data["value"], data["gradient"]) == (-18, {"x": -12})


def test_file_dash_reads_stdin(run_main):
    code, out, err = run_main(["eval", "-f", "-", "x=3", "--json"], stdin="x * x")
    assert code == 0
    assert strict_json(out)["gradient"] == {"x": 6}


# --------------------------------------------------------------------------------------
# Errors: exit 2, what/where/how on stderr, {"error": ...} on stdout with --json
# --------------------------------------------------------------------------------------


class Case:
    def __init__(self, argv, kind=None, says=(), caret=None, node_text=None, values=()):
        self.argv = argv
        self.kind = kind  # the JSON error type, where the issue fixes it
        self.says = says  # substrings stderr must contain
        self.caret = caret  # (source line, 0-based column) of the caret
        self.node_text = node_text  # domain and overflow errors name this node
        self.values = values  # ... and these offending values


ERROR_CASES = {
    # syntax
    "unclosed-paren": Case(["eval", "(a + b", "a=1", "b=1"], "syntax", ["("], ("(a + b", 0)),
    "unclosed-inner-paren": Case(["eval", "2 * sin(x + (y * 2)", "x=1", "y=1"], "syntax", [], ("2 * sin(x + (y * 2)", 7)),
    "unmatched-paren": Case(["eval", "a + b)", "a=1", "b=1"], "syntax", [")"], ("a + b)", 5)),
    "dangling-operator": Case(["eval", "1 +"], "syntax", ["expected"], ("1 +", 3)),
    "two-numbers": Case(["eval", "2 3"], "syntax", ["expected"], ("2 3", 2)),
    "bad-character": Case(["eval", "a $ b", "a=1", "b=1"], "syntax", ["$"], ("a $ b", 2)),
    "empty-program": Case(["eval", ""], "syntax", ["empty"]),
    "blank-program": Case(["eval", "  # nothing\n"], "syntax", ["empty"]),
    # names and functions
    "unknown-function": Case(["eval", "sn(x)", "x=1"], None, ["sn", "sin"], ("sn(x)", 0)),
    "unknown-function-inside": Case(["eval", "2 * expp(x)", "x=1"], None, ["expp", "exp"], ("2 * expp(x)", 4)),
    "function-as-value": Case(["eval", "exp * 2"], None, ["exp", "function"], ("exp * 2", 0)),
    "assign-to-function": Case(["eval", "x = 1; sin = x", "x=1"], None, ["sin", "function"], ("x = 1; sin = x", 7)),
    "wrong-arity": Case(["eval", "atan2(x)", "x=1"], None, ["atan2", "2"], ("atan2(x)", 0)),
    "wrong-arity-max": Case(["eval", "max(x)", "x=1"], None, ["max", "2"], ("max(x)", 0)),
    "unknown-name-did-you-mean": Case(["eval", "radius * 2", "radus=1"], "binding", ["radius", "radus"]),
    # values
    "missing-all-listed": Case(["eval", "alpha*beta + gamma", "beta=1"], "binding", ["alpha", "gamma"]),
    "missing-none-given": Case(["eval", "alpha*beta"], "binding", ["alpha", "beta"]),
    "pair-without-value": Case(["eval", "a", "a="], "binding", ["a="]),
    "pair-without-name": Case(["eval", "a", "=2"], "binding", ["=2"]),
    "pair-two-equals": Case(["eval", "a", "a=1=2"], "binding", ["a=1=2"]),
    "pair-not-a-number": Case(["eval", "a", "a=abc"], "binding", ["abc"]),
    "pair-without-equals": Case(["eval", "a", "a"], "binding", []),
    "value-inf": Case(["eval", "x", "x=inf"], "binding", ["x"]),
    "value-minus-inf": Case(["eval", "x", "x=-inf"], "binding", ["x"]),
    "value-nan": Case(["eval", "x", "x=nan"], "binding", ["x"]),
    "value-overflowing-literal": Case(["eval", "x", "x=1e999"], "binding", ["x"]),
    "constant-pi-given": Case(["eval", "pi*x", "x=1", "pi=1"], "binding", ["pi", "constant"]),
    "constant-e-given": Case(["eval", "e^x", "x=1", "e=1"], "binding", ["constant"]),
    # domain errors at the point: the node, its text and the offending values
    "log-0": Case(["eval", "log(0)"], "domain", [], ("log(0)", 0), "log(0)", ["0"]),
    "log-x-at-0": Case(["eval", "log(x)", "x=0"], "domain", [], ("log(x)", 0), "log(x)", ["0"]),
    "sqrt-minus-1": Case(["eval", "sqrt(-1)"], "domain", [], ("sqrt(-1)", 0), "sqrt(-1)", ["-1"]),
    "divide-by-0": Case(["eval", "1/0"], "domain", [], ("1/0", 0), "1/0", ["0"]),
    "acos-2": Case(["eval", "acos(2)"], "domain", [], ("acos(2)", 0), "acos(2)", ["2"]),
    "zero-to-minus-1": Case(["eval", "0^-1"], "domain", [], ("0^-1", 0), "0^-1", ["0", "-1"]),
    "cube-root-of-minus-8": Case(["eval", "(-8)^(1/3)"], "domain", [], ("(-8)^(1/3)", 0), "(-8)^(1/3)", ["-8", "0.333"]),
    "inner-node": Case(["eval", "2 * log(x - 1) + 3", "x=1"], "domain", [], ("2 * log(x - 1) + 3", 4), "log(x - 1)", ["0"]),
    # overflow from finite inputs
    "exp-1000": Case(["eval", "exp(1000)"], "overflow", [], ("exp(1000)", 0), "exp(1000)", ["1000"]),
    "exp-x-overflow": Case(["eval", "exp(x) * 2", "x=1000"], "overflow", [], ("exp(x) * 2", 0), "exp(x)", ["1000"]),
    "product-overflow": Case(["eval", "y = x * x; y + 1", "x=1e200"], "overflow", [], ("y = x * x; y + 1", 4), "x * x"),
    # options and input
    "wrt-unknown": Case(["eval", "x*y", "x=1", "y=2", "--wrt", "zeta"], None, ["zeta"]),
    "no-program": Case(["eval"], None, ["program"]),
}


def _missing_file_case(tmp_path) -> Case:
    path = tmp_path / "no-such-program.grad"
    return Case(["eval", "-f", str(path), "x=1"], None, ["no-such-program.grad"])


@pytest.fixture(params=sorted(ERROR_CASES) + ["missing-file"])
def error_case(request, tmp_path):
    if request.param == "missing-file":
        return _missing_file_case(tmp_path)
    return ERROR_CASES[request.param]


def _check_human_error(case: Case, code: int, out: str, err: str) -> None:
    assert code == 2
    assert out == ""  # nothing that looks like success
    no_traceback(out, err)
    assert err.strip(), "no message on stderr"
    assert re.search(r"\berror\b", err, re.IGNORECASE)
    for text in case.says:
        assert text in err, (text, err)
    if case.caret is not None:
        line, column = case.caret
        assert caret_offset(err, line) == column, err
    if case.node_text is not None:
        assert case.node_text in err
        assert re.search(r"\bnode\b", err)
        for value in case.values:
            assert value in err, (value, err)


def test_error_human(run_main, error_case):
    code, out, err = run_main(error_case.argv)
    _check_human_error(error_case, code, out, err)


def test_error_json(run_main, error_case):
    code, out, err = run_main(error_case.argv + ["--json"])
    assert code == 2
    no_traceback(out, err)
    assert err.strip()
    data = strict_json(out)  # stdout holds one JSON object and nothing else
    assert set(data) <= {"schema_version", "error"}
    assert "error" in data
    error = data["error"]
    assert isinstance(error.get("message"), str) and error["message"]
    assert error["message"] in err  # the same message on stderr
    if error_case.kind is not None:
        assert error["type"] == error_case.kind
    if error_case.caret is not None:
        line, column = error_case.caret
        program = error_case.argv[1]
        assert error["line"] == program.count("\n", 0, program.find(line)) + 1
        assert error["column"] == column + 1
    if error_case.node_text is not None:
        node = error["node"]
        assert isinstance(node, int)
        assert re.search(rf"\bnode {node}\b", error["message"])
        start, end = error["span"]
        assert error_case.argv[1][start:end] == error_case.node_text
        assert error_case.node_text in error["message"]


@pytest.mark.parametrize(
    "name",
    ["unclosed-paren", "unmatched-paren", "two-numbers", "unknown-function", "missing-all-listed",
     "pair-two-equals", "value-nan", "cube-root-of-minus-8", "exp-1000", "no-program"],
)
def test_errors_through_the_console_script(tmp_path, name):
    case = ERROR_CASES[name]
    code, out, err = run_process(case.argv, cwd=tmp_path)
    _check_human_error(case, code, out, err)
    code, out, err = run_process(case.argv + ["--json"], cwd=tmp_path)
    assert code == 2
    no_traceback(out, err)
    assert "error" in strict_json(out)


def test_syntax_errors_use_plain_words(run_main):
    terminal_names = re.compile(r"\b(NAME|NUMBER|LPAR|RPAR|_SEP|STAR|SLASH|POW|MINUS|PLUS|COMMA|EQUAL|AUGOP)\b|\$END|__ANON")
    for program in ["1 +", "2 3", "(a + b", "a + b)", "sin x", "x ** * 2", "max(1 2)", "sin(x,)", "3 = x", "x = = 1", "f(x)(y)"]:
        for extra in ([], ["--json"]):
            code, out, err = run_main(["eval", program, *extra])
            assert code == 2
            assert not terminal_names.search(err), (program, err)
            assert not terminal_names.search(out), (program, out)


def test_syntax_error_in_a_file_points_at_its_line(run_main, tmp_path):
    path = tmp_path / "bad.grad"
    path.write_text("a = 1\nb = (a + 2\nc = b * 3\n", encoding="utf-8")
    code, out, err = run_main(["eval", "-f", str(path), "--json"])
    assert code == 2
    error = strict_json(out)["error"]
    assert (error["line"], error["column"]) == (2, 5)  # the '(' that is never closed
    assert caret_offset(err, "b = (a + 2") == 4
    assert re.search(r"\bline 2\b", err)


def test_usage_errors_exit_2_without_traceback(run_main):
    for argv in (["eval", "x", "x=1", "--mode", "sideways"], ["eval", "x", "x=1", "--max-nodes", "-1"], ["eval", "x", "x=1", "--jsno"], ["frobnicate"]):
        code, out, err = run_main(argv)
        assert code == 2, argv
        no_traceback(out, err)
        assert err.strip()
    code, out, err = run_main(["eval", "x", "x=1", "--mode", "sideways", "--json"])
    assert code == 2
    assert "error" in strict_json(out)


# --------------------------------------------------------------------------------------
# Warnings: unused values, kinks
# --------------------------------------------------------------------------------------


def test_unused_value_is_a_warning(run_main):
    code, out, err = run_main(["eval", "x * 2", "x=1", "yy=2", "--json"])
    assert code == 0
    no_traceback(err)
    assert re.search(r"warning", err, re.IGNORECASE) and "yy" in err
    data = strict_json(out)
    assert data["gradient"] == {"x": 2}
    assert any("yy" in warning["message"] for warning in data["warnings"])
    code, out, err = run_main(["eval", "x * 2", "x=1", "yy=2"])
    assert code == 0
    assert "yy" in err
    assert not any(row[0] == "yy" for row in table_rows(out))  # not an input in the gradient table


KINKS = [
    # (program, point, node text, check on the gradient)
    ("abs(x)", ["x=0"], "abs(x)", lambda g: -1 <= g["x"] <= 1),
    ("1 + abs(x - 2)", ["x=2"], "abs(x - 2)", lambda g: -1 <= g["x"] <= 1),
    ("relu(x)", ["x=0"], "relu(x)", lambda g: 0 <= g["x"] <= 1),
    ("max(x, y)", ["x=1", "y=1"], "max(x, y)", lambda g: 0 <= g["x"] <= 1 and 0 <= g["y"] <= 1 and g["x"] + g["y"] == 1),
    ("min(x, y) * 2", ["x=2", "y=2"], "min(x, y)", lambda g: 0 <= g["x"] <= 2 and 0 <= g["y"] <= 2 and g["x"] + g["y"] == 2),
    ("sqrt(x)", ["x=0"], "sqrt(x)", lambda g: g["x"] == "Infinity"),  # the slope of sqrt at 0 is +inf
]


@pytest.mark.parametrize("program, point, text, gradient_ok", KINKS, ids=[k[0] for k in KINKS])
def test_kinks_warn_and_name_the_node(run_main, program, point, text, gradient_ok):
    code, out, err = run_main(["eval", program, *point, "--json"])
    assert code == 0
    no_traceback(out, err)
    data = strict_json(out)
    assert gradient_ok(data["gradient"]), data["gradient"]
    node = by_text(data)[text]
    kink_warnings = [w for w in data["warnings"] if w.get("node") == node["id"]]
    assert kink_warnings, data["warnings"]
    assert any(text in w["message"] for w in kink_warnings)
    warning_lines = [line for line in err.splitlines() if "warning" in line.lower()]
    assert any(text in line for line in warning_lines), err

    code, out, err = run_main(["eval", program, *point])
    assert code == 0
    assert any(text in line for line in err.splitlines() if "warning" in line.lower()), err


def test_no_kink_warning_away_from_kinks(run_main):
    code, out, err = run_main(["eval", "abs(x) + relu(x) + max(x, y) + sqrt(y)", "x=0.5", "y=2", "--json"])
    assert code == 0
    assert err == ""
    assert strict_json(out)["warnings"] == []


@pytest.mark.parametrize(
    "program, point, value_ok, derivative_ok",
    [
        # sigmoid(-800) = 1/(1+e^800) ~ e^-800, below the smallest double
        ("sigmoid(x)", "x=-800", lambda v: 0 <= v < 1e-300, lambda d: 0 <= d < 1e-300),
        ("sigmoid(x)", "x=800", lambda v: v == 1, lambda d: 0 <= d < 1e-300),
        # softplus(800) = 800 + log(1 + e^-800) = 800 in doubles; its slope sigmoid(800) = 1
        ("softplus(x)", "x=800", lambda v: v == 800, lambda d: d == 1),
        ("softplus(x)", "x=-800", lambda v: 0 <= v < 1e-300, lambda d: 0 <= d < 1e-300),
    ],
)
def test_numerically_careful_ops_stay_finite(run_main, program, point, value_ok, derivative_ok):
    code, out, err = run_main(["eval", program, point, "--json"])
    assert code == 0
    no_traceback(err)
    assert "error" not in err.lower()
    data = strict_json(out)
    assert isinstance(data["value"], (int, float)) and value_ok(data["value"])
    assert isinstance(data["gradient"]["x"], (int, float)) and derivative_ok(data["gradient"]["x"])


# --------------------------------------------------------------------------------------
# Non-finite numbers in JSON
# --------------------------------------------------------------------------------------


def test_infinite_gradient_is_the_string_infinity(run_main):
    code, out, err = run_main(["eval", "sqrt(x)", "x=0", "--json"])
    assert code == 0
    data = strict_json(out)
    assert data["value"] == 0
    assert data["gradient"] == {"x": "Infinity"}  # d sqrt(x)/dx = 1/(2 sqrt x) -> +inf at 0
    assert by_text(data)["sqrt(x)"]["partials"] == ["Infinity"]
    assert not re.search(r"(?<![\"\w])(NaN|-?Infinity)(?![\"\w])", out)


def test_negative_infinite_gradient(run_main):
    code, out, err = run_main(["eval", "-sqrt(x)", "x=0", "--json"])
    assert code == 0
    assert strict_json(out)["gradient"] == {"x": "-Infinity"}


def test_nan_gradient_is_the_string_nan(run_main):
    # d(x^y)/dy = x^y log x has no real value at x = -2; d(x^y)/dx = y x^(y-1) = -4
    code, out, err = run_main(["eval", "x^y", "x=-2", "y=2", "--json"])
    assert code == 0
    data = strict_json(out)
    assert data["value"] == 4
    assert data["gradient"] == {"x": -4, "y": "NaN"}


# --------------------------------------------------------------------------------------
# Colour
# --------------------------------------------------------------------------------------

KINK_ARGS = ["eval", "abs(x) * 2", "x=0"]  # also writes a warning to stderr


def test_colour_when_forced_to_a_terminal():
    # the control for the tests below: forcing a terminal does produce escapes
    code, out, err = run_process(KINK_ARGS, env=subprocess_env(FORCE_COLOR="1"))
    assert code == 0
    assert ANSI in out


@pytest.mark.parametrize(
    "extra_args, extra_env",
    [(["--no-color"], {"FORCE_COLOR": "1"}), ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}), (["--no-color"], {"FORCE_COLOR": "1", "NO_COLOR": "1"})],
    ids=["--no-color", "NO_COLOR", "both"],
)
def test_no_escape_sequences_with_no_color_even_on_a_terminal(extra_args, extra_env):
    code, out, err = run_process(KINK_ARGS + extra_args, env=subprocess_env(**extra_env))
    assert code == 0
    assert "abs(x) * 2" in out
    assert ANSI not in out
    assert ANSI not in err


@pytest.mark.parametrize("extra_args, env", [(["--no-color"], {"FORCE_COLOR": "1"}), ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"})], ids=["--no-color", "NO_COLOR"])
def test_no_escape_sequences_with_no_color_in_process(extra_args, env):
    code, out, err = run_clirunner(KINK_ARGS + extra_args, env=env)
    assert code == 0
    assert "abs(x) * 2" in out
    assert ANSI not in out


def test_no_escape_sequences_on_a_pipe():
    code, out, err = run_process(KINK_ARGS)
    assert code == 0
    assert "abs(x) * 2" in out and "warning" in err
    assert ANSI not in out
    assert ANSI not in err
    code, out, err = run_process(["eval", "(a + b", "a=1", "b=1"])
    assert code == 2
    assert ANSI not in err


def test_errors_have_no_escape_sequences_with_no_color():
    code, out, err = run_process(["eval", "(a + b", "a=1", "b=1", "--no-color"], env=subprocess_env(FORCE_COLOR="1"))
    assert code == 2
    assert ANSI not in out and ANSI not in err


# --------------------------------------------------------------------------------------
# Large graphs
# --------------------------------------------------------------------------------------

BIG_PROGRAM = "v0 = x * 2\n" + "".join(f"v{i} = v{i - 1} + x\n" for i in range(1, 500))
BIG_ROWS = 501  # x, v0 ... v499 (the literal 2 is not a row of its own)


def test_large_graph_table_is_cut_with_a_note(run_main):
    code, out, err = run_main(["eval", BIG_PROGRAM, "x=1"])
    assert code == 0
    rows = node_rows(out)
    assert 0 < len(rows) < 100
    assert "--max-nodes" in out
    assert re.search(r"\bvalue\b\s+501\b", out)  # 2x + 499x at x = 1
    labels = {row[1] for row in rows}
    assert "x" in labels and "v499" in labels  # the start and the output stay visible


def test_max_nodes_0_shows_every_row(run_main):
    code, out, err = run_main(["eval", BIG_PROGRAM, "x=1", "--max-nodes", "0"])
    assert code == 0
    rows = node_rows(out)
    assert len(rows) >= BIG_ROWS
    labels = [row[1] for row in rows if row[1] == "x" or re.fullmatch(r"v\d+", row[1])]
    assert labels == ["x"] + [f"v{i}" for i in range(500)]  # every node, in evaluation order
    assert "not shown" not in out


def test_max_nodes_limits_the_rows(run_main):
    code, out, err = run_main(["eval", BIG_PROGRAM, "x=1", "--max-nodes", "10"])
    assert code == 0
    assert 0 < len(node_rows(out)) <= 12
    assert "--max-nodes" in out


def test_large_graph_json_lists_every_node(run_main):
    code, out, err = run_main(["eval", BIG_PROGRAM, "x=1", "--json"])
    assert code == 0
    data = strict_json(out)
    assert len(data["nodes"]) == BIG_ROWS + 1
    assert data["gradient"] == {"x": 501}


@pytest.mark.slow
def test_100000_deep_program_through_the_cli(run_main, tmp_path):
    depth = 100_000
    path = tmp_path / "deep.grad"
    path.write_text("(" * depth + "x" + "+1)" * depth, encoding="utf-8")
    code, out, err = run_main(["eval", "-f", str(path), "x=0.5"])
    assert code == 0
    no_traceback(err)
    assert re.search(rf"\bvalue\b\s+{depth + 0.5}\b", out)
    assert {row[0]: row[-1] for row in table_rows(out) if len(row) == 3}["x"] == "1"
    assert "--max-nodes" in out


def test_small_graph_is_not_cut(run_main):
    code, out, err = run_main(["eval", HEADLINE, "a=2", "b=1"])
    assert code == 0
    assert "--max-nodes" not in out
    labels = [row[1] for row in node_rows(out)]
    for label in ("a", "b", "a+b", "b+1", HEADLINE):
        assert label in labels


# --------------------------------------------------------------------------------------
# --version, --help, internal errors
# --------------------------------------------------------------------------------------


def test_version(run_main):
    code, out, err = run_main(["--version"])
    assert code == 0
    assert gradcli.__version__ in out
    assert metadata.version("gradcli") == gradcli.__version__


@pytest.mark.parametrize("module", [False, True], ids=["script", "module"])
def test_version_through_the_installed_entry_points(tmp_path, module):
    code, out, err = run_process(["--version"], module=module, cwd=tmp_path)
    assert code == 0
    assert gradcli.__version__ in out
    assert err == ""


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["eval", "--help"]])
def test_help_mentions_the_exit_codes(run_main, argv):
    code, out, err = run_main(argv)
    assert code == 0
    assert re.search(r"exit code", out, re.IGNORECASE)
    for exit_code in (0, 1, 2, 3):
        assert re.search(rf"^\s*{exit_code}\s+\S", out, re.MULTILINE), exit_code
    assert re.search(r"internal|bug", out, re.IGNORECASE)


def test_eval_help_through_the_script(tmp_path):
    code, out, err = run_process(["eval", "--help"], cwd=tmp_path)
    assert code == 0
    assert "--json" in out and "--no-color" in out and "--max-nodes" in out
    assert re.search(r"exit code", out, re.IGNORECASE)


def _boom(*args, **kwargs):
    raise RuntimeError("synthetic failure for the test")


INTERNAL_TARGETS = [
    ("gradcli.parser.parse", []),
    ("gradcli.evaluation.evaluate", []),
    ("gradcli.evaluation.reverse_sweep", []),
    ("gradcli.evaluation.tangent_sweep", ["--mode", "forward"]),
    ("gradcli.render.json.evaluation_to_dict", ["--json"]),
]


@pytest.mark.parametrize("target, extra", INTERNAL_TARGETS, ids=[t for t, _ in INTERNAL_TARGETS])
def test_internal_error_exits_3_without_traceback(run_main, monkeypatch, target, extra):
    monkeypatch.setattr(target, _boom)
    code, out, err = run_main(["eval", HEADLINE, "a=2", "b=1", *extra])
    assert code == 3
    no_traceback(out, err)
    assert "bug" in err.lower()
    assert "value" not in out  # nothing that looks like success


def test_internal_error_in_a_renderer_exits_3(run_main, monkeypatch):
    # the summary may already be out when the node table fails; the exit code still says bug
    monkeypatch.setattr("gradcli.render.table.node_table", _boom)
    code, out, err = run_main(["eval", HEADLINE, "a=2", "b=1"])
    assert code == 3
    no_traceback(out, err)
    assert "bug" in err.lower()


def test_internal_error_with_json_is_not_success(run_main, monkeypatch):
    monkeypatch.setattr("gradcli.evaluation.evaluate", _boom)
    code, out, err = run_main(["eval", HEADLINE, "a=2", "b=1", "--json"])
    assert code == 3
    no_traceback(out, err)
    assert "bug" in err.lower()
    if out.strip():
        data = strict_json(out)
        assert "error" in data and "value" not in data


@pytest.mark.parametrize("position", ["first", "last"])
def test_debug_lets_the_exception_propagate(run_main, monkeypatch, position):
    monkeypatch.setattr("gradcli.evaluation.evaluate", _boom)
    argv = ["eval", "--debug", HEADLINE, "a=2", "b=1"] if position == "first" else ["eval", HEADLINE, "a=2", "b=1", "--debug"]
    with pytest.raises(RuntimeError, match="synthetic failure"):
        run_main(argv)


def test_internal_error_in_a_real_process(tmp_path):
    script = (
        "import sys, gradcli.evaluation\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('synthetic failure')\n"
        "gradcli.evaluation.evaluate = boom\n"
        "from gradcli.cli import main\n"
        "sys.exit(main(['eval', 'x', 'x=1']))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=60
    )
    assert completed.returncode == 3
    no_traceback(completed.stdout, completed.stderr)
    assert "bug" in completed.stderr.lower()


def test_main_returns_an_int_exit_code_on_success(run_main):
    code, out, err = run_main(["eval", "x", "x=1", "--json"])
    assert code == 0 and isinstance(code, int)
    assert math.isclose(strict_json(out)["value"], 1)
