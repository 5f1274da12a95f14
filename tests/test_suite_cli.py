"""`gradcli test` through the command line: exit codes, files found, CI, --update, reports.

Expected numbers in the case files written here are closed forms: for
f = (a+b)*(b+1), df/da = b+1 and df/db = a+2b+1 (seed example 1 at a=2, b=1:
value 6, gradient 2 and 5).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from gradcli.cli import main

GOOD = """\
# Olah's example
[[case]]
name = "olah"
program = "(a+b)*(b+1)"
check = true
point = { a = 2, b = 1 }
value = 6
gradient = { a = 2, b = 5 }
"""

PLANTED = """\
[suite]
rtol = 1e-12

[[case]]
name = "fine"
program = "x^2"
point = { x = 3 }
value = 9
gradient = { x = 6 }

[[case]]
name = "regression"   # the expected gradient below is wrong: d/db = a+2b+1 = 5
program = "(a+b)*(b+1)"

[[case.point]]
at = { a = 0, b = 0 }
value = 0
gradient = { a = 1, b = 1 }

[[case.point]]
at = { a = 2, b = 1 }
value = 6
gradient = { a = 2, b = 4 }
"""

UNRECORDED = """\
[[case]]
name = "new"
program = "sin(x)*y"   # d/dx = cos(x)*y, d/dy = sin(x)
point = { x = 0, y = 2 }
"""


@pytest.fixture
def run(capsys, monkeypatch):
    for name in ("CI", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "160")

    def invoke(*argv, env: dict | None = None):
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(["test", *argv, "--no-color"])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_passing_suite_exits_0(run, tmp_path):
    path = write(tmp_path, "good.grad.toml", GOOD)
    code, out, err = run(str(path))
    assert code == 0, out + err
    assert "olah" in out and "pass" in out and "1 case: 1 pass" in out
    assert path.read_text(encoding="utf-8") == GOOD  # nothing to record, nothing written


def test_planted_regression_fails_with_the_case_and_line(run, tmp_path):
    path = write(tmp_path, "planted.grad.toml", PLANTED)
    code, out, _ = run(str(path))
    assert code == 1
    line = PLANTED.splitlines().index("at = { a = 2, b = 1 }")  # 0-based index of `at`: the header is the line before
    assert f"planted.grad.toml:{line}" in out  # the [[case.point]] header's 1-based line number
    assert "d/db is 5.0, expected 4.0" in out
    assert "1 pass, 1 fail" in out


def test_directories_are_searched(run, tmp_path):
    write(tmp_path, "good.grad.toml", GOOD)
    (tmp_path / "nested").mkdir()
    write(tmp_path / "nested", "more.grad.toml", GOOD.replace('"olah"', '"olah again"'))
    write(tmp_path, "ignored.toml", "not a case file")
    code, out, _ = run(str(tmp_path))
    assert code == 0 and "olah again" in out and "2 cases: 2 pass" in out


def test_missing_expectations_are_recorded_outside_ci(run, tmp_path):
    path = write(tmp_path, "new.grad.toml", UNRECORDED)
    code, out, _ = run(str(path))
    assert code == 0 and "recorded" in out
    text = path.read_text(encoding="utf-8")
    assert "value = 0\n" in text and "gradient = { x = 2, y = 0 }" in text  # cos(0)*2, sin(0)
    assert "# d/dx = cos(x)*y" in text  # comments kept
    code, out, _ = run(str(path), env={"CI": "true"})
    assert code == 0 and "1 pass" in out  # recorded numbers now hold


def test_missing_expectations_fail_under_ci_unless_update(run, tmp_path):
    path = write(tmp_path, "new.grad.toml", UNRECORDED)
    code, out, _ = run(str(path), env={"CI": "true"})
    assert code == 1 and "--update" in out
    assert path.read_text(encoding="utf-8") == UNRECORDED
    code, _, _ = run(str(path), "--update", env={"CI": "true"})
    assert code == 0 and "gradient = { x = 2, y = 0 }" in path.read_text(encoding="utf-8")


def test_update_rewrites_changed_numbers_and_keeps_the_rest(run, tmp_path):
    path = write(tmp_path, "planted.grad.toml", PLANTED)
    code, _, _ = run(str(path), "--update")
    assert code == 0
    updated = path.read_text(encoding="utf-8")
    assert updated == PLANTED.replace("gradient = { a = 2, b = 4 }", "gradient = { a = 2, b = 5 }")
    code, _, _ = run(str(path))
    assert code == 0


def test_malformed_file_exits_2_naming_file_line_case_and_key(run, tmp_path):
    path = write(tmp_path, "bad.grad.toml", GOOD.replace("check = true", "chek = true"))
    write(tmp_path, "good.grad.toml", GOOD)
    code, out, err = run(str(tmp_path))
    assert code == 2
    assert "bad.grad.toml:2" in err and "olah" in err and "chek" in err
    assert "1 case: 1 pass" in out  # the other file still ran


def test_case_that_cannot_run_exits_2(run, tmp_path):
    path = write(tmp_path, "broken.grad.toml", GOOD.replace("(a+b)*(b+1)", "(a+b)*(b+1"))
    code, out, _ = run(str(path))
    assert code == 2 and "error" in out and "never closed" in out


def test_nothing_to_run(run, tmp_path):
    code, _, err = run(str(tmp_path))
    assert code == 2 and "no case files" in err
    code, _, err = run(str(tmp_path / "missing.grad.toml"))
    assert code == 2 and "no such file" in err


def test_junit_report(run, tmp_path):
    path = write(tmp_path, "planted.grad.toml", PLANTED)
    report = tmp_path / "report.xml"
    code, _, _ = run(str(path), "--junit-xml", str(report))
    assert code == 1
    root = ElementTree.parse(report).getroot()
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["fine", "regression"]
    assert cases[0].find("failure") is None and cases[1].find("failure") is not None
    assert all(c.get("file") is None and c.get("line") is None for c in cases)  # not in the JUnit schema
    assert "\x1b" not in report.read_text(encoding="utf-8")


def test_jsonl_streams_one_object_per_case_then_a_summary(run, tmp_path):
    path = write(tmp_path, "planted.grad.toml", PLANTED)
    code, out, _ = run(str(path), "--jsonl")
    assert code == 1
    lines = [json.loads(line, parse_constant=lambda c: pytest.fail(c)) for line in out.splitlines()]
    assert [line["type"] for line in lines] == ["case", "case", "summary"]
    assert [line["status"] for line in lines[:2]] == ["pass", "fail"]


def test_github_annotations_and_step_summary(run, tmp_path):
    path = write(tmp_path, "planted.grad.toml", PLANTED)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    code, out, _ = run(str(path), env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 1
    annotations = [line for line in out.splitlines() if line.startswith("::error ")]
    header_line = PLANTED.splitlines().index("at = { a = 2, b = 1 }")  # 1-based line of its [[case.point]]
    assert len(annotations) == 1
    assert f"line={header_line}" in annotations[0] and "planted.grad.toml" in annotations[0]
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n") and "regression" in text  # appended, not replaced
