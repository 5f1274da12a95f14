"""`gradcli test`: run gradient regression suites (case files) for CI.

gradcli.cli's group imports this module when the command is used. The work
is in gradcli.cases (reading), gradcli.suite (running) and
gradcli.case_update (--update); the reports are in gradcli.render.
"""

from __future__ import annotations

import os

import click

from .cli import EXIT_CODES_TEXT, output_options, print_all
from .errors import EXIT_CANNOT_COMPUTE, EXIT_CHECK_FAILED, EXIT_OK, InputError



@click.command("test", epilog=EXIT_CODES_TEXT)
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--update", is_flag=True, help="Write gradcli's current values as the expected ones (comments kept).")
@click.option("--junit-xml", "junit_path", metavar="PATH", help="Also write a JUnit XML report to PATH.")
@click.option("--jsonl", is_flag=True, help="One JSON object per case as it finishes, then a summary line.")
@output_options
def test_command(paths, update, junit_path, jsonl, json_output, no_color) -> int:
    """Run the gradient suites in PATH (case files, or directories searched for *.grad.toml).

    A case names a program, points and what must hold there: the value, the
    gradient, a finite-difference self-check, claimed partials, checks at
    random points (format: README, "Gradient regression suites").

    Points without expected numbers are filled in, unless CI is set: then
    they fail, and `--update` is the way to record them. With
    GITHUB_ACTIONS=true, failures are also annotations on the case file's
    lines and a summary in $GITHUB_STEP_SUMMARY. Exit 0 when everything
    passes, 1 when a case fails, 2 when a case cannot be run.
    """
    from . import case_update, cases, suite

    if json_output:
        raise InputError("gradcli test writes JSON as --jsonl (one object per case)", hint="use --jsonl")
    ci = suite.env_flag("CI")
    files = cases.find_case_files(list(paths) or ["."])
    if not files:
        raise InputError(f"no case files (*{cases.SUFFIX}) in {', '.join(paths) or '.'}",
                         hint="name case files or directories that contain them")
    results, updated, broken = [], [], []
    for path in files:
        try:
            spec = cases.load(path)
        except cases.CaseFileError as error:
            broken.append(error)
            if jsonl:
                from .render.json import dumps, error_to_dict

                click.echo(dumps({"type": "error", "file": path, **error_to_dict(error)}))
            continue
        file_results = []
        for case in spec.cases:
            result = suite.run_case(case, cases.display_path(path), ci=ci, update=update)
            file_results.append(result)
            if jsonl:
                from .render.json import dumps
                from .render.suite_json import case_to_dict

                click.echo(dumps(case_to_dict(result)))
        results += file_results
        if any(p.status == "recorded" for r in file_results for p in r.points):
            if case_update.write_updates(path, spec.text, spec.cases, file_results):
                updated.append(path)

    if junit_path is not None:
        from .render.junit import to_junit_xml

        # Strictly valid against the common JUnit schema, which has no file/line
        # attributes; on GitHub the annotations carry the locations instead.
        _write_text(junit_path, to_junit_xml(results, locations=False))
    if suite.env_flag("GITHUB_ACTIONS"):
        _github(results)
    if jsonl:
        from .render.json import dumps
        from .render.suite_json import summary_to_dict

        click.echo(dumps(summary_to_dict(results)))
    else:
        from .render.suite import failure_details, summary_table, totals_line

        failing = [r for r in results if r.status in ("fail", "error")]
        print_all(no_color, summary_table(results), *[failure_details(r) for r in failing], totals_line(results, updated))
    for error in broken:
        from .render.errors import format_error

        click.echo(format_error(error), err=True)
    if broken or any(r.status == "error" for r in results):
        return EXIT_CANNOT_COMPUTE
    return EXIT_CHECK_FAILED if any(r.status == "fail" for r in results) else EXIT_OK


def _github(results) -> None:
    from .render.github import annotations, step_summary

    for line in annotations(results):
        click.echo(line)  # workflow commands are read from stdout
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        try:
            with open(summary_path, "a", encoding="utf-8") as handle:
                handle.write(step_summary(results))
        except OSError as exc:
            click.echo(f"warning: cannot append to GITHUB_STEP_SUMMARY ({summary_path}): {exc.strerror or exc}", err=True)


def _write_text(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}", hint="check the path and its directory") from None

