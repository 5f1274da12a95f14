"""The commands that show how a gradient comes about: `gradcli graph` and `gradcli explain`.

gradcli.cli's group imports this module when one of them is used; they are
thin like the commands there: read the program, evaluate it, hand plain data
to a renderer, write it.
"""

from __future__ import annotations

import os
import sys

import click

from .cli import EXIT_CODES_TEXT, ProgramCommand, evaluate_arguments, output_options, print_all
from .errors import EXIT_OK, InputError

OF_HELP = "With several outputs (`out u, v`): show only OUTPUT, as written in `out` (default: all)."
GRAPH_FORMATS = ("terminal", "dot", "mermaid", "svg", "png")
# What -o PATH draws when --format is not given.
_FORMAT_BY_EXTENSION = {
    ".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot",
    ".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".txt": "terminal",
}


def _graph_format(requested: str | None, output_path: str | None, json_output: bool) -> str:
    if json_output:
        if requested is not None:
            raise InputError("--json and --format both choose the output", hint="give one of them")
        return "json"
    if requested is not None:
        return requested
    if output_path is None:
        return "terminal"
    extension = os.path.splitext(output_path)[1].lower()
    if extension == ".json":
        return "json"
    if extension not in _FORMAT_BY_EXTENSION:
        raise InputError(
            f"cannot tell the format of {output_path!r} from its extension",
            hint="give --format (" + ", ".join(GRAPH_FORMATS) + "), or name the file .svg, .png, .dot, .mmd, .md or .json",
        )
    return _FORMAT_BY_EXTENSION[extension]


@click.command("graph", cls=ProgramCommand, epilog=EXIT_CODES_TEXT)
@click.argument("args", nargs=-1, metavar="PROGRAM [NAME=VALUE]...")
@click.option("-f", "--file", "program_file", metavar="FILE", help="Read the program from FILE ('-' for stdin).")
@click.option("--wrt", metavar="NAME", help="Also show every node's forward-mode tangent d(node)/d(NAME).")
@click.option(
    "--format", "graph_format", type=click.Choice(GRAPH_FORMATS),
    help="terminal (default), dot (Graphviz), mermaid (GitHub Markdown), svg or png (need Graphviz's dot).",
)
@click.option("-o", "--output", "output_path", metavar="PATH", help="Write to PATH; the format follows its extension.")
@click.option(
    "--max-nodes", type=click.IntRange(min=0), default=40, show_default=True,
    help="Terminal: draw at most this many nodes, else summarise (0: no limit).",
)
@click.option("--of", "output_label", metavar="OUTPUT", help=OF_HELP)
@output_options
def graph_command(args, program_file, wrt, graph_format, output_path, max_nodes, output_label, json_output,
                  no_color) -> int:
    """Draw the computational graph of PROGRAM at a point.

    Every node shows its value and adjoint d(output)/d(node), every edge its
    local derivative; --wrt adds forward-mode tangents. With several outputs
    (`out u, v`) every node shows one adjoint per output; --of picks one.

    \b
    Examples:
      gradcli graph "(a+b)*(b+1)" a=2 b=1
      gradcli graph "(a+b)*(b+1)" a=2 b=1 --format dot | dot -Tsvg > e.svg
      gradcli graph "(a+b)*(b+1)" a=2 b=1 -o e.svg
      gradcli graph "(a+b)*(b+1)" a=2 b=1 --format mermaid
      gradcli graph "u = x*y; v = x + sin(y); out u, v" x=1 y=2 --of v
    """
    from .picture import picture

    chosen = _graph_format(graph_format, output_path, json_output)
    # Reverse mode: the picture shows every output's adjoints, one backward sweep each.
    result = picture(evaluate_arguments(args, program_file, mode="reverse", wrt=wrt), output=_label(output_label))
    # Everything is rendered before anything is written: a failure leaves no partial output.
    if chosen == "terminal":
        from .render.graph_terminal import render_graph

        if output_path is None:
            print_all(no_color, render_graph(result, max_nodes))
            return EXIT_OK
        from .render import plain_text

        data = plain_text(render_graph(result, max_nodes), width=120).encode("utf-8")
    elif chosen == "json":
        from .render.json import dumps, picture_to_dict

        data = (dumps(picture_to_dict(result), pretty=output_path is None and sys.stdout.isatty()) + "\n").encode()
    elif chosen == "mermaid":
        from .render.mermaid import to_mermaid

        text = to_mermaid(result)
        if output_path is not None and output_path.lower().endswith(".md"):
            text = f"```mermaid\n{text.rstrip()}\n```\n"  # GitHub renders fenced mermaid blocks
        data = text.encode("utf-8")
    else:
        from .render.dot import to_dot

        data = to_dot(result).encode("utf-8")
        if chosen in ("svg", "png"):
            from .render.graphviz import render_with_dot

            data = render_with_dot(data.decode("utf-8"), chosen)
    _write(data, output_path, binary=chosen == "png")
    return EXIT_OK


def _label(output_label: str | None) -> str | None:
    if output_label is not None and output_label.strip() == "":
        raise InputError("--of needs an output's label", hint="as written in the program's `out` statement, e.g. --of v")
    return output_label


def _write(data: bytes, output_path: str | None, binary: bool) -> None:
    if output_path is None:
        if binary and sys.stdout.isatty():
            raise InputError("a PNG picture is binary and would garble the terminal", hint="write it to a file: -o graph.png")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        with open(output_path, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise InputError(f"cannot write {output_path}: {exc.strerror or exc}", hint="check the path and its directory") from None
    click.echo(f"wrote {output_path}", err=True)


@click.command("explain", cls=ProgramCommand, epilog=EXIT_CODES_TEXT)
@click.argument("args", nargs=-1, metavar="PROGRAM [NAME=VALUE]...")
@click.option("-f", "--file", "program_file", metavar="FILE", help="Read the program from FILE ('-' for stdin).")
@click.option("--wrt", metavar="NAME", help="Follow every path from input NAME to the output (default: the only input).")
@click.option(
    "--paths", "path_limit", type=click.IntRange(min=0), default=20, show_default=True,
    help="List at most this many paths (all are counted).",
)
@click.option(
    "--max-lines", type=click.IntRange(min=0), default=60, show_default=True,
    help="Lines of the forward and of each backward pass before they are cut (0: all).",
)
@click.option("--of", "output_label", metavar="OUTPUT", help=OF_HELP)
@output_options
def explain_command(args, program_file, wrt, path_limit, max_lines, output_label, json_output, no_color) -> int:
    """Explain the chain rule for PROGRAM at a point, step by step.

    The forward and backward passes as staged code with numbers (the way
    the CS231n notes write backpropagation), the paths from one input to
    the output whose products add up to its partial, and what forward and
    reverse mode cost for this program. With several outputs (`out u, v`):
    one backward pass and one set of paths per output; --of picks one.

    \b
    Examples:
      gradcli explain "(a+b)*(b+1)" a=2 b=1 --wrt b
      gradcli explain -f samples/cs231n_staged.grad x=3 y=-4 --wrt x
      gradcli explain "u = x*y; v = x + sin(y); out u, v" x=1 y=2 --wrt y --of v
    """
    from .explain import explain

    if wrt is not None and wrt.strip() == "":
        raise InputError("--wrt needs an input name", hint="e.g. --wrt b")
    # Reverse mode: the paths section compares its sum with reverse mode's derivative.
    evaluation = evaluate_arguments(args, program_file, mode="reverse")
    result = explain(evaluation, wrt=wrt, path_limit=path_limit, output=_label(output_label))
    if json_output:
        from .render.explain import explanation_to_dict
        from .render.json import SCHEMA_VERSION, dumps

        body = {"schema_version": SCHEMA_VERSION, "command": "explain", **explanation_to_dict(result)}
        click.echo(dumps(body, pretty=sys.stdout.isatty()))
    else:
        from .render.explain import to_renderable

        print_all(no_color, to_renderable(result, max_lines))
    return EXIT_OK
