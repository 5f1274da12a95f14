"""Human and JSON output of `gradcli explain`: pure functions of an `Explanation`.

`to_renderable()` lays out the staged code as the CS231n notes write it
(`dc = de * 2 = 2`, `db += dc * 1 = 5  (b feeds 2 nodes: gradients add up)`),
Olah's paths (`b -> c -> e: 1 * 2 = 2`, then `sum over 2 paths = 5 = de/db`)
and the cost of forward and reverse mode. A program with several outputs
gets one backward pass and one set of paths per output explained, each
section titled with the output's label. User text goes into `Text`
objects, never markup strings, so programs containing '[' print as written.

`explanation_to_dict()` is the JSON body (the CLI adds the envelope). Every
float goes through `render.json.number`, so non-finite values become "NaN",
"Infinity" or "-Infinity". Path counts and edge-visit totals are exact
integers of any size: a JSON integer when below 2**53 (exact in every JSON
reader, JavaScript included), else a string of decimal digits (`int(s)` in
Python restores it).
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from ..explain import Explanation, OutputExplanation, Path, PathView, decimal
from ..graph import format_number
from .json import number

PATH_NODES = 12  # a longer path shows its first and last PATH_NODES // 2 nodes
SKIPPED_NAMES = 10  # names listed per skipped-node note
MODE_OUTPUTS = 10  # outputs whose edge visits the cost section lists


def to_renderable(explanation: Explanation, max_lines: int = 0) -> Group:
    """The sections; the forward pass and each backward pass cut to `max_lines` lines (0: all).

    Forward pass; per output explained, its backward pass and its paths;
    forward vs reverse mode.
    """
    parts: list = []
    _section(parts, "forward pass", forward_lines(explanation), max_lines)
    several = len(explanation.output_labels) > 1
    for output in _outputs(explanation):
        # With several outputs each section says whose it is, even when --of shows one.
        of = f" for {output.label}" if several else ""
        _section(parts, "backward pass" + of, backward_lines(explanation, output), max_lines)
        view = output.paths
        if view is not None:
            to = output.label if several else output.name
            _section(parts, f"paths from {view.wrt} to {to}", path_lines(explanation, output), 0)
    _section(parts, "forward vs reverse mode", mode_lines(explanation), 0)
    return Group(*parts)


def _outputs(explanation: Explanation) -> tuple[OutputExplanation, ...]:
    """The outputs explained; an Explanation built without them has its one output at the top level."""
    if explanation.outputs:
        return explanation.outputs
    e = explanation
    label = e.output_name
    reverse_edges = e.modes.reverse_edges
    return (OutputExplanation(0, label, e.output, e.output_name, e.value, e.start, e.backward, e.skipped,
                              e.gradient, e.paths, reverse_edges),)


def _section(parts: list, title: str, lines: list[Text], max_lines: int) -> None:
    if parts:
        parts.append(Text(""))
    parts.append(Text(title, style="bold"))
    if max_lines and len(lines) > max_lines:
        half = max(1, max_lines // 2)
        hidden = len(lines) - 2 * half
        lines = lines[:half] + [Text(f"  … {hidden:,} lines not shown", style="italic")] + lines[-half:]
    parts.extend(lines)


def forward_lines(explanation: Explanation) -> list[Text]:
    several = len(explanation.output_labels) > 1
    if not explanation.forward:
        what = "the outputs are inputs" if several else "the output is an input"
        lines = [Text(f"  (no computation: {what})", style="dim")]
    else:
        lines = [Text("  " + line.text) for line in explanation.forward]
    if several and len(explanation.output_nodes) == len(explanation.output_labels):
        # Which stages the outputs are: `out` may list expressions (out x*y, x+y).
        stages = [explanation.names[node] or "" for node in explanation.output_nodes]
        text = "  out " + ", ".join(explanation.output_labels)
        if stages != list(explanation.output_labels):
            text += "  (stages " + ", ".join(stages) + ")"
        lines.append(Text(text, style="bold"))
    return lines


def backward_lines(explanation: Explanation, output: OutputExplanation | None = None) -> list[Text]:
    output = output if output is not None else _outputs(explanation)[0]
    lines = [Text("  " + output.start)]
    for step in output.backward:
        for line in step.lines:
            text = Text("  " + line.text)
            if line.accumulate:
                use = f"feeds {line.feeds} nodes" if line.feeds == line.uses else f"is used {line.uses} times"
                text.append(f"  ({line.target} {use}: gradients add up)", style="yellow")
            lines.append(text)
        if step.note:
            lines.append(Text(f"    # {step.note}", style="dim"))
    by_reason: dict[str, list[str]] = {}
    for skipped in output.skipped:
        by_reason.setdefault(skipped.reason, []).append(skipped.name)
    for reason, names in by_reason.items():
        shown = ", ".join(names[:SKIPPED_NAMES])
        if len(names) > SKIPPED_NAMES:
            shown += f" and {len(names) - SKIPPED_NAMES:,} more"
        lines.append(Text(f"  skipped {shown}: {reason}", style="dim"))
    return lines


def count_text(n: int) -> str:
    """An exact count for people: digits while short, else its size (and 2^k when it is one)."""
    if n < 10**15:
        return f"{n:,}"
    power = f" = 2^{n.bit_length() - 1}" if n & (n - 1) == 0 else ""
    digits = decimal(n)
    return f"about {digits[0]}.{digits[1:4]}e+{len(digits) - 1}{power}"


def path_text(explanation: Explanation, path: Path) -> str:
    """`b -> c -> e: 1 * 2 = 2`; a parallel edge says which argument it enters (x*x has two)."""
    names, args = explanation.names, {line.node: line.args for line in explanation.forward}
    steps = [names[path.nodes[0]]]
    for i, (target, slot) in enumerate(zip(path.nodes[1:], path.slots)):
        source = names[path.nodes[i]]
        parallel = args.get(target, ()).count(source) > 1
        steps.append(f"-(argument {slot + 1})-> {names[target]}" if parallel else f"-> {names[target]}")
    factors = [format_number(f) for f in path.factors]
    if len(steps) > PATH_NODES:
        half = PATH_NODES // 2
        steps = steps[:half] + [f"-> … {len(steps) - 2 * half:,} more nodes …"] + steps[-half:]
        factors = factors[:half] + ["…"] + factors[-half:]
    product = " * ".join(factors) if factors else "(no edges)"
    return f"{' '.join(steps)}: {product} = {format_number(path.product)}"


def path_lines(explanation: Explanation, output: OutputExplanation | None = None) -> list[Text]:
    output = output if output is not None else _outputs(explanation)[0]
    view = output.paths
    out, wrt = output.name, view.wrt
    derivative = f"d{out}/d{wrt}"
    if view.count == 0:
        return [Text(f"  no path leads from {wrt} to {out}: {derivative} = 0")]
    lines = [Text("  " + path_text(explanation, path)) for path in view.paths]
    if view.not_shown:
        more = f"  … {count_text(view.not_shown)} more paths not shown (at most {view.limit} are listed)"
        lines.append(Text(more, style="italic"))
    plural = "path" if view.count == 1 else "paths"
    total = format_number(view.sum)
    how = "" if not view.not_shown else "  (the sum over all of them, factored as forward mode does: one sweep)"
    if view.sum == view.gradient:
        lines.append(Text(f"  sum over {count_text(view.count)} {plural} = {total} = {derivative}{how}"))
    else:
        lines.append(Text(f"  sum over {count_text(view.count)} {plural} = {total}{how}"))
        lines.append(Text(f"  reverse mode: {derivative} = {format_number(view.gradient)} (equal up to rounding)"))
    return lines


def mode_lines(explanation: Explanation) -> list[Text]:
    modes = explanation.modes
    outputs = _outputs(explanation)
    several = modes.outputs > 1
    # One output: a gradient, "every partial" in one backward sweep; several: a Jacobian either way.
    whole = "the whole Jacobian" if several else "the whole gradient"
    lines = [
        Text(f"  {_plural(modes.inputs, 'input')}, {_plural(modes.outputs, 'output')}"),
        Text(f"  forward mode: one tangent sweep per input, "
             f"{_plural(modes.forward_sweeps, 'sweep')} for {whole}"),
        Text(f"  reverse mode: one backward sweep per output, "
             f"{_plural(modes.reverse_sweeps, 'sweep')} for {'the whole Jacobian' if several else 'every partial'}"),
    ]
    verdict = {
        "reverse": "reverse mode is cheaper here",
        "forward": "forward mode is cheaper here",
        "equal": f"both need {'one sweep' if modes.inputs == 1 else _plural(modes.inputs, 'sweep')} here",
        "none": "no inputs: there is nothing to differentiate",
    }[modes.cheaper]
    lines.append(Text(f"  {verdict}", style="bold"))
    if several and modes.cheaper != "none":
        why = "outputs outnumber inputs" if modes.auto == "forward" else "forward only when outputs outnumber inputs"
        lines.append(Text(f"  gradcli eval --mode auto takes {modes.auto} mode here ({why})"))
    view = outputs[0].paths
    lines.append(Text(f"  edge visits (the graph has {modes.edges:,} edges):"))
    if view is not None:
        if len(outputs) > 1:
            on_path = "on a path: " + ", ".join(f"{o.paths.path_edges:,} to {o.name}" for o in outputs[:MODE_OUTPUTS])
            on_path += ", …" if len(outputs) > MODE_OUTPUTS else ""
        else:
            on_path = f"{view.path_edges:,} of them lie on a path to {outputs[0].name}"
        lines.append(Text(f"    one forward sweep from {view.wrt}: {view.forward_edges:,}"
                          f"  (every edge out of a node that depends on {view.wrt}; {on_path})"))
    listed = outputs[:MODE_OUTPUTS]
    more = (Text(f"    … and {len(outputs) - len(listed):,} more outputs (--json lists all)", style="italic")
            if len(outputs) > len(listed) else None)
    for output in listed:
        out = output.name
        lines.append(Text(f"    one reverse sweep from {out}: {output.reverse_edges:,}"
                          f"  (every edge into a node {out} depends on, from a node that depends on an input)"))
    if more is not None:
        lines.append(more)
    if view is not None:
        for output in listed:
            view = output.paths
            how = "1 path, its length" if view.count == 1 else f"{count_text(view.count)} paths, their lengths added up"
            to = f" to {output.name}" if len(outputs) > 1 else ""
            lines.append(Text(f"    every path from {view.wrt}{to} one by one: "
                              f"{count_text(view.enumeration_edges)}  ({how})"))
        if more is not None:
            lines.append(more)
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _int(n: int) -> int | str:
    return n if abs(n) < 2**53 else decimal(n)


def _backward_dict(output: OutputExplanation) -> dict:
    return {
        "start": output.start,
        "steps": [
            {
                "node": step.node, "name": step.name, "op": step.op, "adjoint": number(step.adjoint),
                "gate": step.gate, "note": step.note,
                "lines": [
                    {"node": b.node, "source": b.source, "arg": b.arg, "target": b.target, "slot": b.slot,
                     "partial": number(b.partial), "contribution": number(b.contribution),
                     "total": number(b.total), "accumulate": b.accumulate, "uses": b.uses,
                     "feeds": b.feeds, "text": b.text}
                    for b in step.lines
                ],
            }
            for step in output.backward
        ],
        "skipped": [{"node": s.node, "name": s.name, "reason": s.reason} for s in output.skipped],
    }


def _paths_dict(view: PathView | None, names) -> dict | None:
    if view is None:
        return None
    return {
        "wrt": view.wrt,
        "wrt_node": view.wrt_node,
        "output": view.output,
        "count": _int(view.count),
        "listed": [
            {"nodes": list(p.nodes), "names": [names[n] for n in p.nodes], "slots": list(p.slots),
             "factors": [number(f) for f in p.factors], "product": number(p.product)}
            for p in view.paths
        ],
        "not_shown": _int(view.not_shown),
        "limit": view.limit,
        "sum": number(view.sum),
        "listed_sum": number(view.listed_sum),
        "gradient": number(view.gradient),
        "enumeration_edges": _int(view.enumeration_edges),
        "forward_edges": _int(view.forward_edges),
        "path_edges": _int(view.path_edges),
    }


def explanation_to_dict(explanation: Explanation) -> dict:
    """The explanation as strict-JSON-ready data (keys in snake_case).

    `outputs` holds one entry per output explained (all, or the --of one),
    each with its backward pass, gradient and paths; the top-level `output`,
    `output_name`, `value`, `backward`, `gradient` and `paths` repeat
    `outputs[0]`, as one-output readers expect.
    """
    modes, names = explanation.modes, explanation.names
    outputs = [
        {
            "label": o.label,
            "index": o.index,
            "node": o.node,
            "name": o.name,
            "value": number(o.value),
            "backward": _backward_dict(o),
            "gradient": {name: number(v) for name, v in o.gradient.items()},
            "paths": _paths_dict(o.paths, names),
            "reverse_edges": _int(o.reverse_edges),
        }
        for o in _outputs(explanation)
    ]
    first = outputs[0]
    return {
        "program": explanation.program,
        "point": {name: number(v) for name, v in explanation.point.items()},
        "inputs": list(explanation.inputs),
        "output": explanation.output,
        "output_name": explanation.output_name,
        "value": number(explanation.value),
        "output_labels": list(explanation.output_labels) or [first["label"]],
        "selected": explanation.selected,
        "names": list(names),
        "forward": [
            {"node": f.node, "target": f.target, "op": f.op, "args": list(f.args),
             "expression": f.expression, "value": number(f.value), "text": f.text}
            for f in explanation.forward
        ],
        "backward": first["backward"],
        "gradient": first["gradient"],
        "paths": first["paths"],
        "outputs": outputs,
        "modes": {
            "inputs": modes.inputs,
            "outputs": modes.outputs,
            "forward_sweeps": modes.forward_sweeps,
            "reverse_sweeps": modes.reverse_sweeps,
            "cheaper": modes.cheaper,
            "auto": modes.auto,
            "edges": _int(modes.edges),
            "reverse_edges": _int(modes.reverse_edges),
        },
    }
