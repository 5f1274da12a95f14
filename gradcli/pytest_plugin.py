"""A pytest plugin: plain `pytest` runs gradient suites (`*.grad.toml` case files).

Registered through the `pytest11` entry point, so installing gradcli is
enough. Each `[[case]]` of a case file is one test item named after the case;
a failing case is reported with the same plain-text table as `gradcli test`,
not a Python traceback, and a malformed case file is a collection error that
names the file, line, case and key. Points without expected numbers behave as
with `gradcli test`: outside CI the computed value and gradient are written
into the case file and the item passes; with CI set, the item fails.

Only pytest and the standard library are imported here at import time (the
gradcli modules that do the work load on the first case file), so test runs
without case files pay nothing for the plugin beyond importing the `gradcli`
package itself.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

SUFFIX = ".grad.toml"  # gradcli.cases.SUFFIX, repeated so that collection needs no gradcli import
_UPDATED = pytest.StashKey[list]()


def pytest_collect_file(file_path, parent):
    if file_path.name.endswith(SUFFIX):
        return GradCaseFile.from_parent(parent, path=file_path)
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    updated = config.stash.get(_UPDATED, None)
    if updated:
        terminalreporter.write_sep("-", "gradcli")
        terminalreporter.write_line(f"expected values written to {', '.join(sorted(set(updated)))}")


class GradCaseFailure(Exception):
    """A case that failed or could not run; `text` is gradcli's failure report, `summary` its first line."""

    def __init__(self, text: str, summary: str, location: tuple[str, int]):
        super().__init__(summary)
        self.text, self.summary, self.location = text, summary, location


class _Crash(NamedTuple):
    """What pytest's one-line summaries read (`-ra`, `--tb=line`, JUnit's failure message)."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.message}"


class FailureReport:
    """An item's failure report: gradcli's plain-text table, no traceback.

    pytest prints it with `toterminal`; `reprcrash` keeps the short test
    summary to one line (a plain string would be repeated there in full when
    CI is set).
    """

    def __init__(self, failure: GradCaseFailure):
        self.text = failure.text
        self.reprcrash = _Crash(*failure.location, failure.summary)

    def toterminal(self, tw) -> None:
        for line in self.text.rstrip("\n").split("\n"):
            tw.line(line)

    def __str__(self) -> str:
        return self.text


class GradCaseFile(pytest.File):
    """A case file: one item per [[case]]."""

    def collect(self):
        from gradcli import cases

        display = cases.display_path(str(self.path), str(self.config.invocation_params.dir))
        try:
            spec = cases.load(str(self.path))
        except cases.CaseFileError as error:
            from gradcli.render.errors import format_error

            error.message = error.message.replace(str(self.path), display)
            raise self.CollectError(format_error(error)) from None
        for case in spec.cases:
            yield GradCaseItem.from_parent(self, name=case.name, case=case, display=display)


class GradCaseItem(pytest.Item):
    """One case of a case file, at all its points."""

    def __init__(self, *, case, display: str, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.display = display

    def runtest(self) -> None:
        from gradcli import suite

        result = suite.run_case(self.case, self.display, ci=suite.env_flag("CI"))
        if any(point.status == "recorded" for point in result.points):
            self._record(result)
        if result.status in ("fail", "error"):
            from gradcli.render.suite import failure_text

            summary = f"case {result.name!r}: {result.message or result.status}"
            raise GradCaseFailure(failure_text(result), summary, (self.display, result.line))

    def _record(self, result) -> None:
        """Write this case's computed numbers into the case file, as `gradcli test` does.

        The file is read again first: an earlier item of the same file may have
        written its own numbers (moving this case's lines), and the write must
        keep those.
        """
        from gradcli import case_update, cases

        path = str(self.path)
        try:
            current = cases.load(path)
        except cases.CaseFileError as error:  # edited into a broken file while the tests ran
            message = f"expected values not written: {error.message}"
            raise GradCaseFailure(message + "\n", message, (self.display, self.case.line)) from None
        fresh = next((c for c in current.cases if c.name == self.case.name), None)
        if fresh is None or [p.at for p in fresh.points] != [p.at for p in self.case.points]:
            message = f"case {self.case.name!r} changed while the tests ran; expected values not written"
            raise GradCaseFailure(f"{self.display}:{self.case.line}: {message}\n", message, (self.display, self.case.line))
        if case_update.write_updates(path, current.text, [fresh], [result]):
            self.config.stash.setdefault(_UPDATED, []).append(self.display)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, GradCaseFailure):
            return FailureReport(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, (self.case.line - 1 if self.case.line else None), f"case {self.name}"

