"""The command line: thin click commands over the core.

Each command reads its input, calls one core function, picks a renderer and
returns an exit code. Errors from the core are formatted here, once, in
`main()`; nothing below prints a Python traceback unless --debug is given.
"""

from __future__ import annotations

import os
import re
import sys

import click

from . import __version__
from .errors import EXIT_CANNOT_COMPUTE, EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_OK, GradcliError, InputError, closest
from .graph import format_number

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
            elif arg in flags or _looks_like_option(arg, flags | with_value):
                options.append(arg)
            else:
                positionals.append(arg)
            index += 1
        return super().parse_args(ctx, options + ["--"] + positionals)


def _looks_like_option(arg: str, known: set[str]) -> bool:
    """--name or --name=value that is, or nearly is, one of ours (click then suggests a fix)."""
    name = arg.split("=", 1)[0]
    if not re.fullmatch(r"--[A-Za-z][A-Za-z0-9-]+", name):
        return False  # "--x + 1" is a program
    return name in known or closest(name, [k for k in known if k.startswith("--")]) is not None


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


class LazyGroup(click.Group):
    """A group whose commands in other modules are imported only when used.

    Every option a command declares costs start-up time when its module is
    imported; `gradcli eval` should not pay for the other commands.
    """

    lazy_commands = {
        "graph": "gradcli.cli_pictures:graph_command",
        "explain": "gradcli.cli_pictures:explain_command",
        "test": "gradcli.cli_suite:test_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands and name not in self.commands:
            import importlib

            module_name, attribute = self.lazy_commands[name].split(":")
            self.add_command(getattr(importlib.import_module(module_name), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_TEXT)
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

    plain = no_color or bool(os.environ.get("NO_COLOR"))
    # color_system=None drops every escape code (bold too), not only colours.
    options = {"color_system": None} if plain else {}
    console = Console(stderr=stderr, highlight=False, soft_wrap=False, **options)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 120  # files and pipes: wide enough for the node table
    return console


def print_all(no_color: bool, *renderables) -> None:
    """Render everything first, then write: a renderer that fails leaves stdout empty."""
    console = make_console(no_color)
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    sys.stdout.write(captured.get())
    sys.stdout.flush()


def report_warnings(messages: list[str]) -> None:
    for message in messages:
        click.echo(f"warning: {message}", err=True)


def evaluate_arguments(args, program_file, mode: str = "auto", wrt: str | None = None, **products):
    """The program and NAME=VALUE arguments of a command, evaluated; warnings go to stderr.

    `products`: `direction` and `cotangent` for evaluate(), as given on the command line.
    """
    from .evaluation import evaluate
    from .point import parse_assignments

    source, assignments = read_program(args, program_file)
    result = evaluate(source, parse_assignments(assignments), mode=mode, wrt=wrt, **products)
    report_warnings([w.message for w in result.warnings])
    return result


@cli.command("eval", cls=ProgramCommand, epilog=EXIT_CODES_TEXT)
@click.argument("args", nargs=-1, metavar="PROGRAM [NAME=VALUE]...")
@click.option("-f", "--file", "program_file", metavar="FILE", help="Read the program from FILE ('-' for stdin).")
@click.option(
    "--mode", type=click.Choice(["auto", "reverse", "forward"]), default="auto", show_default=True,
    help="reverse: one backward sweep per output; forward: one tangent sweep per input; "
    "auto: the one with fewer sweeps.",
)
@click.option("--wrt", metavar="NAME", help="Also show every node's derivative with respect to input NAME.")
@click.option("--hessian", is_flag=True,
              help="Also the second derivatives (forward over reverse); with --direction, H v instead.")
@click.option("--direction", metavar="NAME=V,...",
              help="The directional derivative J v (one forward sweep) instead of the Jacobian; "
              "inputs left out weigh 0.")
@click.option("--cotangent", metavar="OUTPUT=U,...",
              help="The vector-Jacobian product u^T J (one backward sweep) instead of the Jacobian; "
              "outputs left out weigh 0 (a bare number for a program with one output).")
@click.option(
    "--max-nodes", type=click.IntRange(min=0), default=40, show_default=True,
    help="Rows of the per-node table before it is cut (0: all).",
)
@click.option("--points", "points_path", metavar="FILE",
              help="Evaluate at every point of FILE (CSV with a header, or JSON Lines; '-' for stdin).")
@click.option("--format", "output_format", type=click.Choice(["csv", "jsonl"]),
              help="Output of --points (default: the format of the points).")
@click.option("--on-error", type=click.Choice(["stop", "skip", "null"]), default="stop", show_default=True,
              help="A point that cannot be evaluated, with --points: stop there, leave it out, or write it without numbers.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr for --points (default: when stderr is a terminal).")
@output_options
def eval_command(args, program_file, mode, wrt, hessian, direction, cotangent, max_nodes, points_path,
                 output_format, on_error, progress, json_output, no_color) -> int:
    """Evaluate PROGRAM at a point: its value, gradient and every node.

    PROGRAM is an expression or statements separated by ';' or new lines;
    '-' reads it from stdin; a last statement `out u, v` names several
    outputs, and the gradient becomes a Jacobian. Give each input as
    NAME=VALUE. With --points,
    evaluate at every point of a file instead: one output row per point,
    with the value and every partial; NAME=VALUE then fixes an input for all points.
    """
    if points_path is not None:
        for flag, value in (("--hessian", hessian), ("--direction", direction), ("--cotangent", cotangent)):
            if value:
                raise InputError(f"{flag} does not go with --points, which gives the value and gradient per point",
                                 hint=f"evaluate one point at a time for {flag}")
        return _eval_points(args, program_file, mode, wrt, points_path, output_format, on_error, progress, json_output)
    if output_format is not None:
        raise InputError("--format applies to --points", hint="add --points FILE, or use --json for one point")
    from .point import parse_weights

    products = {}
    if direction is not None:
        products["direction"] = parse_weights(direction, "--direction")
    if cotangent is not None:
        products["cotangent"] = _cotangent(cotangent)
    result = evaluate_arguments(args, program_file, mode, wrt, **products)
    hessians = hessian_products = None
    if hessian:
        from . import hessian

        if result.direction is not None:
            hessian_products = hessian.hessian_vector_products(result, result.direction)
        else:
            hessians = hessian.hessians(result)
        second = hessian.warnings(result, hessians, hessian_products)
        result.warnings += second  # --json lists them
        report_warnings([w.message for w in second])
    if json_output:
        from .render.json import dumps, evaluation_to_dict

        click.echo(dumps(evaluation_to_dict(result, hessians, hessian_products), pretty=sys.stdout.isatty()))
    else:
        from .render.table import node_table, summary

        print_all(no_color, summary(result, hessians, hessian_products), "", node_table(result, max_nodes))
    return EXIT_OK


def _cotangent(text: str) -> dict[str, float] | float:
    """--cotangent OUTPUT=U,...; a bare number weighs a program's one output."""
    from .point import parse_weights

    if "=" in text:
        return parse_weights(text, "--cotangent")
    try:
        weight = float(text)
    except ValueError:
        weight = float("nan")
    if not (weight == weight and abs(weight) != float("inf")):
        raise InputError(f"cannot read --cotangent {text!r}: not a number, nor OUTPUT=NUMBER pairs",
                         hint="e.g. --cotangent 2 for a program with one output, or --cotangent u=1,v=0.5")
    return weight  # evaluate() weighs the one output with it


def _eval_points(args, program_file, mode, wrt, points_path, output_format, on_error, progress, json_output) -> int:
    from .cli_batch import run_points
    from .point import parse_assignments

    if wrt is not None or mode == "forward":
        raise InputError("--wrt and --mode forward show one point's nodes; --points gives gradients only",
                         hint="drop --wrt/--mode, or evaluate one point without --points")
    if json_output and output_format == "csv":
        raise InputError("--json and --format csv do not go together", hint="--json with --points writes JSON Lines")
    source, assignments = read_program(args, program_file)
    if points_path == "-" and (program_file == "-" or (args and args[0] == "-")):
        raise InputError("the program and the points cannot both come from stdin", hint="put one of them in a file")
    show = sys.stderr.isatty() if progress is None else progress
    return run_points(source, parse_assignments(assignments), points_path,
                      "jsonl" if json_output else output_format, on_error, show)


@cli.command("check", cls=ProgramCommand, epilog=EXIT_CODES_TEXT)
@click.argument("args", nargs=-1, metavar="PROGRAM [NAME=VALUE]...")
@click.option("-f", "--file", "program_file", metavar="FILE", help="Read the program from FILE ('-' for stdin).")
@click.option(
    "--method", type=click.Choice(["central", "forward", "richardson", "complex"]), default="central",
    show_default=True, help="How the numerical derivative is estimated.",
)
@click.option("--step", type=float, metavar="H", help="Step for the numerical derivative (default: per method).")
@click.option("--rtol", type=float, default=1e-7, show_default=True, help="Relative tolerance.")
@click.option("--atol", type=float, default=0.0, show_default=True, help="Absolute tolerance.")
@click.option("--order", type=click.IntRange(1, 2), default=1, show_default=True,
              help="1: every Jacobian entry; 2: every Hessian entry, against differences of the gradient.")
@click.option("--claim", "claim_pairs", multiple=True, metavar="NAME=VALUE",
              help="A claimed derivative to check instead of gradcli's: x=..., u/x=... (several outputs), "
              "x,y=... (--order 2).")
@click.option("--claims", "claims_file", metavar="FILE", help="Claimed partials as a JSON object ('-' for stdin).")
@click.option("--nodes", "check_nodes", is_flag=True,
              help="Also check every node's local partials on their own (--order 2: their derivatives).")
@click.option("--samples", type=click.IntRange(min=1), metavar="N", help="Also check at N random points.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for --samples (printed in every case).")
@click.option("--range", "ranges", multiple=True, metavar="NAME=LO:HI", help="Where --samples draws NAME from.")
@output_options
def check_command(
    args, program_file, method, step, rtol, atol, order, claim_pairs, claims_file, check_nodes,
    samples, seed, ranges, json_output, no_color,
) -> int:
    """Check the gradient of PROGRAM at a point against numerical derivatives.

    Every partial gets a verdict: pass, fail, kink (a non-differentiable
    point within the step, and the value lies between the one-sided
    derivatives), uncertain (the numerical error is too large to decide) or
    non-finite. Exit 0 when all agree, 1 when any is wrong. With several
    outputs (out u, v) every Jacobian entry is checked; with --order 2 every
    Hessian entry, against numerical derivatives of the gradient.
    """
    from .check import CheckSettings, check, claim_tolerance
    from .point import parse_assignments

    source, assignments = read_program(args, program_file)
    claims = _read_claims(claim_pairs, claims_file, program_file == "-" or (args and args[0] == "-"))
    if claims and samples:
        raise InputError("claims are values at one point and cannot be used with --samples",
                         hint="check the claims at their point, or drop them to sample gradcli's own gradient")
    for name, value in (("--step", step), ("--rtol", rtol), ("--atol", atol)):
        if value is not None and not (value >= 0.0 and value < float("inf")) or (name == "--step" and value == 0.0):
            raise InputError(f"{name} must be a finite positive number, not {value}", hint=f"e.g. {name} 1e-6")
    settings = CheckSettings(method=method, step=step, rtol=rtol, atol=atol)
    # Claims naming an entry the program lacks are refused by check(), with the forms it accepts.
    result = check(
        source, parse_assignments(assignments), settings=settings, order=order,
        claims={name: value for name, (value, _) in claims.items()},
        claim_tolerances={name: claim_tolerance(text) for name, (_, text) in claims.items()},
    )
    node_checks = None
    if check_nodes:
        from .localise import check_nodes as localise

        node_checks = localise(result.evaluation, settings, order)
    report = None
    if samples:
        from .sampling import check_samples, new_seed, parse_ranges

        report = check_samples(
            result.evaluation.graph, result.evaluation.point, samples,
            new_seed() if seed is None else seed, parse_ranges(ranges), settings, order,
        )
    report_warnings([w.message for w in result.evaluation.warnings])
    ok = result.ok and all(n.ok for n in node_checks or []) and (report is None or report.ok)
    if json_output:
        from .render.json import check_to_dict, dumps

        click.echo(dumps(check_to_dict(result, node_checks, report), pretty=sys.stdout.isatty()))
    else:
        from .render import checks

        parts = [checks.header(result), "", checks.partial_table(result)]
        if node_checks is not None:
            parts.append(checks.node_table(result, node_checks))
        if report is not None and report.worst() is not None:
            worst = report.worst()
            where = ", ".join(f"{k} = {format_number(v)}" for k, v in worst.evaluation.point.items())
            parts.append(checks.partial_table(worst, title=f"worst of {len(report.results)} random points: {where}"))
        parts.append(checks.summary_line(result, node_checks, report))
        print_all(no_color, *parts)
    return EXIT_OK if ok else EXIT_CHECK_FAILED


def _read_claims(pairs, claims_file, stdin_taken: bool) -> dict:
    from .point import parse_assignment_texts, parse_claims_json

    plain = [pair for pair in pairs if not _is_entry_claim(pair)]
    claims = parse_assignment_texts(plain, what="claim")
    for pair in pairs:
        if _is_entry_claim(pair):
            key, number = _entry_claim(pair)
            if key in claims:
                raise InputError(f"{key} is given twice", hint=f"give one claim for {key}")
            claims[key] = number
    if claims_file is not None:
        if claims_file == "-" and stdin_taken:
            raise InputError("the program and the claims cannot both come from stdin",
                             hint="put one of them in a file")
        from_file = parse_claims_json(_read_text(claims_file), "stdin" if claims_file == "-" else claims_file)
        twice = [name for name in from_file if name in claims]
        if twice:
            raise InputError(f"claims given twice (--claim and --claims): {', '.join(twice)}")
        claims.update(from_file)
    return claims


def _is_entry_claim(pair: str) -> bool:
    """u/x=..., x,y=... or u/x,y=...: a Jacobian or Hessian entry rather than a plain input."""
    return "/" in pair.rpartition("=")[0] or "," in pair.rpartition("=")[0]


def _entry_claim(pair: str) -> tuple[str, tuple[float, str]]:
    """[OUTPUT/]INPUT[,INPUT]=NUMBER: the key as check.claim_key writes it, and the number with its text.

    Split at the last '=' and '/': an output's label may be an expression; input names are plain.
    """
    key, _, number = pair.rpartition("=")
    output, slash, inputs = key.strip().rpartition("/")
    names = [name.strip() for name in inputs.split(",")]
    if (slash and not output.strip()) or len(names) > 2 or not all(n.isidentifier() for n in names):
        raise InputError(
            f"cannot read the claim {pair!r}",
            hint="name an entry as INPUT, OUTPUT/INPUT, INPUT,INPUT (--order 2) or OUTPUT/INPUT,INPUT, "
            "e.g. --claim u/x=1.5 or --claim x,y=2",
        )
    text = number.strip()
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"cannot read the claim {pair!r}: " + (f"{text!r} is not a number" if text else "the number is missing"),
            hint="write ENTRY=NUMBER, e.g. --claim u/x=2 or --claim x,y=-0.5e-3",
        ) from None
    return (output.strip() + slash if slash else "") + ",".join(names), (value, text)


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
