"""The pytest plugin (gradcli.pytest_plugin): plain `pytest` runs `*.grad.toml` case files.

Each test builds a small project with pytester and runs pytest on it, in
process or in a subprocess; the plugin is loaded through its `pytest11` entry
point (the editable install of this checkout registers it). Expected numbers
are closed forms: for f = (a+b)*(b+1), df/da = b+1 and df/db = a+2b+1 (at
a=2, b=1: value 6, gradient 2 and 5).
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import subprocess
import sys

import pytest

from gradcli import cases

pytest_plugins = ["pytester"]

OLAH_PROGRAM = """\
# Olah's example, staged
c = a + b
d = b + 1
e = c * d
"""

SUITE = """\
# a passing case (program in a file) and a planted regression
[[case]]
name = "olah"
file = "olah.grad"
point = { a = 2, b = 1 }
value = 6
gradient = { a = 2, b = 5 }

[[case]]
name = "regression"   # planted: d/db = a+2b+1 = 5, not 7
program = "(a+b)*(b+1)"

[[case.point]]
at = { a = 2, b = 1 }
value = 6
gradient = { a = 2, b = 7 }
"""

NEW = """\
# new cases: the expected numbers are to be filled in
[[case]]
name = "square"
program = "a*a"
point = { a = 3 }   # inline point

[[case]]
name = "sine"
program = "sin(x)"

[[case.point]]
at = { x = 0 }

[[case.point]]
at = { x = 2 }
value = 0.9092974268256817   # the gradient is still missing here
"""

# Never loaded by a pytest run without case files (rich, lark and click are gradcli's dependencies).
HEAVY = ("gradcli.cases", "gradcli.suite", "gradcli.case_update", "gradcli.render", "gradcli.cli", "rich", "lark", "click")


def case_lines(text: str) -> list[int]:
    """1-based lines of the [[case]] headers."""
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("[[case]]")]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def is_heavy(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in HEAVY)


@pytest.fixture
def no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def project(pytester, no_ci):
    """suites/regress.grad.toml (one passing case, one planted regression) and the program file it names."""
    suites = pytester.mkdir("suites")
    (suites / "olah.grad").write_text(OLAH_PROGRAM, encoding="utf-8")
    (suites / "regress.grad.toml").write_text(SUITE, encoding="utf-8")
    return pytester


def no_traceback(output: str) -> None:
    for marker in ("Traceback", "raise ", "pytest_plugin.py", "gradcli/suite.py", "_pytest/"):
        assert marker not in output, f"{marker!r} in the output:\n{output}"


# --- registration and import cost --------------------------------------------------------


def test_the_plugin_is_registered_as_a_pytest11_entry_point():
    entry_points = {ep.name: ep for ep in importlib.metadata.entry_points(group="pytest11")}
    assert "gradcli" in entry_points, "reinstall the checkout: python3 -m pip install -e . --no-deps"
    assert entry_points["gradcli"].value == "gradcli.pytest_plugin"
    import gradcli.pytest_plugin

    assert entry_points["gradcli"].load() is gradcli.pytest_plugin


def _modules_after(statement: str) -> set[str]:
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return set(json.loads(completed.stdout))


def test_importing_the_plugin_loads_nothing_beyond_the_gradcli_package():
    package = _modules_after("import gradcli")
    plugin = _modules_after("import gradcli.pytest_plugin")
    ours = {m for m in plugin if m.startswith(("gradcli", "rich", "lark", "click"))}
    # The package's API loads on first use (gradcli/__init__.py), so this is all of it.
    assert ours == {"gradcli", "gradcli.pytest_plugin"}, sorted(ours)
    assert ours - package == {"gradcli.pytest_plugin"}
    assert not [m for m in plugin if is_heavy(m)]
    # Beyond pytest, the plugin adds only the package's own (standard-library) modules.
    with_pytest = _modules_after("import pytest")
    assert plugin - with_pytest - {"pytest"} <= package | {"gradcli.pytest_plugin"}


def test_a_project_without_case_files_runs_as_without_the_plugin(pytester, monkeypatch, no_ci):
    pytester.makepyfile(
        test_x="""
        import json, os, sys

        def test_arithmetic():
            assert 1 + 1 == 2

        def test_record_modules():
            with open(os.environ["MODULES_OUT"], "w") as handle:
                json.dump(sorted(sys.modules), handle)
        """
    )
    runs = {}
    for label, args in (("with", ()), ("without", ("-p", "no:gradcli"))):
        out = pytester.path / f"modules-{label}.json"
        monkeypatch.setenv("MODULES_OUT", str(out))
        result = pytester.runpytest_subprocess("-v", *args)
        result.assert_outcomes(passed=2)
        verdicts = [" ".join(line.split()[:2]) for line in result.outlines if line.startswith("test_x.py::")]
        runs[label] = (verdicts, set(json.loads(out.read_text())))
    assert runs["with"][0] == runs["without"][0] == ["test_x.py::test_arithmetic PASSED", "test_x.py::test_record_modules PASSED"]
    with_plugin, without_plugin = runs["with"][1], runs["without"][1]
    assert "gradcli.pytest_plugin" in with_plugin and "gradcli.pytest_plugin" not in without_plugin
    added = with_plugin - without_plugin
    assert not [m for m in added if is_heavy(m)], sorted(added)
    assert added <= _modules_after("import gradcli") | {"gradcli.pytest_plugin"}, sorted(added)


# --- case files as test items -------------------------------------------------------------


def test_passing_case_and_planted_regression(project):
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["suites/regress.grad.toml::olah PASSED*", "suites/regress.grad.toml::regression FAILED*"])
    header, point = case_lines(SUITE)[1], line_of(SUITE, "[[case.point]]")
    result.stdout.fnmatch_lines(
        [
            "*_ case regression _*",
            f"suites/regress.grad.toml:{header}: case 'regression': fail",
            f"  at a=2, b=1 (line {point}): d/db is 5.0, expected 7.0 (relative error *, rtol 1e-09)",
            "*expected*gradcli*abs. error*rel. error*",
            "*value*6*6*0*0*ok*",
            "*d/da*2*2*0*0*ok*",
            "*d/db*7*5*2*0.286*FAIL*",
        ]
    )
    # The short summary stays one line: the case and what went wrong.
    result.stdout.fnmatch_lines(["FAILED suites/regress.grad.toml::regression - case 'regression': d/db is 5.0*"])
    no_traceback(result.stdout.str() + result.stderr.str())
    # Nothing is written when every point has its expected numbers.
    assert (project.path / "suites" / "regress.grad.toml").read_text(encoding="utf-8") == SUITE


def test_a_subprocess_pytest_collects_case_files_through_the_entry_point(project):
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*case 'regression': fail*", "*d/db*7*5*FAIL*"])
    no_traceback(result.stdout.str() + result.stderr.str())
    disabled = project.runpytest_subprocess("-p", "no:gradcli")
    disabled.assert_outcomes()
    assert disabled.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_item_locations_point_at_the_case_lines(project):
    reprec = project.inline_run()
    calls = {r.nodeid: r for r in reprec.getreports("pytest_runtest_logreport") if r.when == "call"}
    first, second = case_lines(SUITE)
    assert calls["suites/regress.grad.toml::olah"].location == ("suites/regress.grad.toml", first - 1, "case olah")
    assert calls["suites/regress.grad.toml::regression"].location == (
        "suites/regress.grad.toml", second - 1, "case regression",
    )
    assert calls["suites/regress.grad.toml::olah"].passed and calls["suites/regress.grad.toml::regression"].failed


def test_a_case_that_cannot_run_fails_with_its_message(pytester, no_ci):
    pytester.makefile(".grad.toml", domain='[[case]]\nname = "logarithm"\nprogram = "log(x)"\npoint = { x = -1 }\n')
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["domain.grad.toml:1: case 'logarithm': error", "  at x=-1 (line 4): *log needs x > 0*"])
    no_traceback(result.stdout.str())


def test_only_matching_files_are_collected(pytester, no_ci):
    pytester.makefile(".toml", config='[[case]]\nname = "x"\nprogram = "x"\npoint = { x = 1 }\n')
    pytester.makefile(".grad", olah=OLAH_PROGRAM)
    pytester.makefile(".grad.toml", real='[[case]]\nname = "x"\nprogram = "x"\npoint = { x = 1 }\nvalue = 1\ngradient = { x = 1 }\n')
    result = pytester.runpytest("--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == ["real.grad.toml::x"]


# --- malformed case files ------------------------------------------------------------------

MALFORMED = [
    ('[[case]]\nname = "x"\nprogram = "a"\npoint = { a = 1 }\nbogus = 3\n',
     ["error: broken.grad.toml:1 (case 'x'): unknown key `bogus` in [[case]]", "hint: allowed: *"]),
    ('[[case]]\nname = "x"\nprogram = "a"\n\n[[case.point]]\nat = { a = 1 }\ngradient = { a = "two" }\n',
     ["error: broken.grad.toml:5 (case 'x'): `gradient.a` must be a number, not 'two'"]),
    ('[[case]]\nname = "x\n', ["error: broken.grad.toml: not valid TOML: *"]),
]


@pytest.mark.parametrize("text, expected", MALFORMED, ids=["unknown-key", "not-a-number", "not-toml"])
def test_a_malformed_case_file_is_a_collection_error_with_its_message(pytester, no_ci, text, expected):
    pytester.makefile(".grad.toml", broken=text)
    pytester.makepyfile(test_fine="def test_fine():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting broken.grad.toml*", *expected])
    no_traceback(result.stdout.str() + result.stderr.str())
    errors = [line for line in result.outlines if line.startswith("error: ")]
    assert len(errors) == 1 and str(pytester.path) not in errors[0]  # the file is named as pytest names it


# --- points without expected numbers ---------------------------------------------------------


@pytest.mark.parametrize("ci", [None, "0", "false"])
def test_outside_ci_missing_numbers_are_written_into_the_file(pytester, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    path = pytester.path / "new.grad.toml"
    path.write_text(NEW, encoding="utf-8")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*expected values written to new.grad.toml*"])

    written = path.read_text(encoding="utf-8")
    assert "# new cases: the expected numbers are to be filled in" in written
    assert "point = { a = 3 }   # inline point" in written
    assert "value = 0.9092974268256817   # the gradient is still missing here" in written
    assert written.count("value =") == 3 and written.count("gradient =") == 3
    # Both items of the file recorded numbers: the second write kept the first one's.
    square, sine = cases.load(str(path)).cases
    assert (square.points[0].value, square.points[0].gradient) == (9, {"a": 6})
    assert (sine.points[0].value, sine.points[0].gradient) == (0, {"x": 1})
    assert math.isclose(sine.points[1].value, math.sin(2), rel_tol=1e-15)
    assert math.isclose(sine.points[1].gradient["x"], math.cos(2), rel_tol=1e-15)

    again = pytester.runpytest()
    again.assert_outcomes(passed=2)
    assert "expected values written" not in again.stdout.str()
    assert path.read_text(encoding="utf-8") == written


@pytest.mark.parametrize("ci", ["1", "true"])
def test_under_ci_missing_numbers_fail_and_nothing_is_written(pytester, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    path = pytester.path / "new.grad.toml"
    path.write_text(NEW, encoding="utf-8")
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            f"new.grad.toml:{case_lines(NEW)[0]}: case 'square': fail",
            "  at a=3 (line 5): no expected value and gradient; run `gradcli test --update` and commit the*",
            f"new.grad.toml:{case_lines(NEW)[1]}: case 'sine': fail",
        ]
    )
    assert "expected values written" not in result.stdout.str()
    no_traceback(result.stdout.str())
    assert path.read_text(encoding="utf-8") == NEW
