"""The command line: thin click commands over the core.

Each command reads its input, calls one core function, picks a renderer and
returns an exit code. Errors from the core are formatted here, once, in
`main()`; nothing below prints a Python traceback unless --debug is given.
"""

from __future__ import annotations

import os
import sys

import click

from . import __version__
from .errors import EXIT_CANNOT_COMPUTE, EXIT_INTERNAL, EXIT_OK, GradcliError, InputError

EXIT_CODES_TEXT = """\b
Exit codes:
  0  success
  1  a check failed (gradcli check, gradcli test)
  2  the input cannot be computed: syntax, unknown names, bad or missing
     values, a point outside a function's domain, overflow
  3  an internal error (a bug in gradcli; --debug shows the traceback)
"""


class _Invocation:
    """What main() needs to know to report an error the way the user asked."""

    json = False
    debug = False


_invocation = _Invocation()


class ProgramCommand(click.Command):
    """A command whose first argument is a program that may begin with '-'.

    `gradcli eval "-x^2" x=3` must work, so arguments that are not this
    command's options are moved behind a '--' before click parses them;
    unknown long options (--jsno) still reach click, which suggests a fix.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        flags, with_value = set(), set()
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                names = param.opts + param.secondary_opts
                (flags if param.is_flag or param.count else with_value).update(names)
        options, positionals = [], []
        index = 0
        while index < len(args):
            arg = args[index]
            if arg == "--":
                positionals += args[index + 1 :]
                break
            if arg in with_value:
                options += args[index : index + 2]
                index += 1
            elif arg in flags or (arg.startswith("--") and len(arg) > 2):
                options.append(arg)
            else:
                positionals.append(arg)
            index += 1
        return super().parse_args(ctx, options + ["--"] + positionals)


def _set_flag(attribute: str):
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            setattr(_invocation, attribute, True)
        return value

    return callback


def output_options(command):
    """--json, --no-color and --debug, shared by every command."""
    command = click.option(
        "--debug", is_flag=True, expose_value=False, callback=_set_flag("debug"),
        help="Show a traceback for internal errors.",
    )(command)
    command = click.option("--no-color", is_flag=True, help="No colour, even on a terminal (NO_COLOR works too).")(command)
    command = click.option(
        "--json", "json_output", is_flag=True, callback=_set_flag("json"),
        help="Print one strict JSON object on stdout (schema in the README).",
    )(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_TEXT)
@click.version_option(__version__, "--version", prog_name="gradcli")
def cli() -> None:
    """gradcli: values and gradients of expressions and small programs, node by node.

    \b
    Examples:
      gradcli eval "(a+b)*(b+1)" a=2 b=1
      gradcli eval "(a+b)*(b+1)" a=2 b=1 --json | jq .gradient.b
      gradcli eval -f samples/cs231n_staged.grad x=3 y=-4
    """


def read_program(args: tuple[str, ...], program_file: str | None) -> tuple[str, list[str]]:
    """The program text and the remaining NAME=VALUE arguments."""
    if program_file is not None:
        return _read_text(program_file), list(args)
    if not args:
        raise InputError(
            "no program given",
            hint='give the program as the first argument, e.g. gradcli eval "(a+b)*(b+1)" a=2 b=1, '
            "or read it with -f FILE, or from stdin with -",
        )
    return _read_text("-") if args[0] == "-" else args[0], list(args[1:])


def _read_text(path: str) -> str:
    what = "standard input" if path == "-" else path
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot read {what}: {reason}", hint="check the path, and that the file is UTF-8 text") from None


def make_console(no_color: bool, stderr: bool = False):
    from rich.console import Console

    console = Console(stderr=stderr, no_color=no_color or None, highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 120  # files and pipes: wide enough for the node table
    return console


def report_warnings(messages: list[str]) -> None:
    for message in messages:
        click.echo(f"warning: {message}", err=True)


@cli.command("eval", cls=ProgramCommand, epilog=EXIT_CODES_TEXT)
@click.argument("args", nargs=-1, metavar="PROGRAM [NAME=VALUE]...")
@click.option("-f", "--file", "program_file", metavar="FILE", help="Read the program from FILE ('-' for stdin).")
@click.option(
    "--mode", type=click.Choice(["reverse", "forward"]), default="reverse", show_default=True,
    help="reverse: one backward sweep; forward: one tangent sweep per input.",
)
@click.option("--wrt", metavar="NAME", help="Also show every node's derivative with respect to input NAME.")
@click.option(
    "--max-nodes", type=click.IntRange(min=0), default=40, show_default=True,
    help="Rows of the per-node table before it is cut (0: all).",
)
@output_options
def eval_command(args, program_file, mode, wrt, max_nodes, json_output, no_color) -> int:
    """Evaluate PROGRAM at a point: its value, gradient and every node.

    PROGRAM is an expression or statements separated by ';' or new lines;
    '-' reads it from stdin. Give each input as NAME=VALUE.
    """
    from .evaluation import evaluate
    from .point import parse_assignments

    source, assignments = read_program(args, program_file)
    result = evaluate(source, parse_assignments(assignments), mode=mode, wrt=wrt)
    report_warnings([w.message for w in result.warnings])
    if json_output:
        from .render.json import dumps, evaluation_to_dict

        click.echo(dumps(evaluation_to_dict(result), pretty=sys.stdout.isatty()))
    else:
        from .render.table import node_table, summary

        console = make_console(no_color)
        console.print(summary(result))
        console.print()
        console.print(node_table(result, max_nodes))
    return EXIT_OK


def _report(error: GradcliError) -> int:
    from .render.errors import format_error

    if _invocation.json:
        from .render.json import dumps, error_to_dict

        click.echo(dumps(error_to_dict(error)))
    click.echo(format_error(error), err=True)
    return error.exit_code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    _invocation.json = _invocation.debug = False
    if argv is None:
        argv = sys.argv[1:]
    try:
        code = cli.main(args=argv, prog_name="gradcli", standalone_mode=False)
    except GradcliError as error:
        code = _report(error)
    except click.exceptions.Exit as done:
        code = done.exit_code
    except click.ClickException as usage:
        if _invocation.json or "--json" in argv:
            from .render.json import dumps

            click.echo(dumps({"schema_version": 1, "error": {"type": "usage", "message": usage.format_message()}}))
        usage.show()
        code = EXIT_CANNOT_COMPUTE
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        code = 130
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    except BrokenPipeError:
        # The reader went away (gradcli ... | head): not an error of ours.
        sys.stderr.close()
        code = EXIT_OK
    except Exception as bug:  # noqa: BLE001 - the last line of defence against tracebacks
        if _invocation.debug:
            raise
        click.echo(
            f"internal error: {type(bug).__name__}: {bug}\n"
            "This is a bug in gradcli. Please report it with the command line that caused it; "
            "--debug shows the traceback.",
            err=True,
        )
        code = EXIT_INTERNAL
    return code if isinstance(code, int) else EXIT_OK
