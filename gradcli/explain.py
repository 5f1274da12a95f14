"""What `gradcli explain` shows, as plain data: the chain rule step by step.

Owns the staged-code view of an evaluated graph, as in Olah's "Calculus on
Computational Graphs" and the CS231n backpropagation notes: a name for every
stage, the forward pass as staged code with numbers (`c = a + b = 3`), the
backward pass as `dc = de * 2 = 2` lines in which gradients add up (`+=`),
the sum over paths from one input to the output (counted exactly, listed
only up to a limit) and what forward and reverse mode cost. It never prints
and imports no renderer; gradcli/render/explain.py draws an `Explanation`.

A program with several outputs (`out u, v`) gets one forward pass and one
backward pass per output (or only for the one `output=` names), the paths
from the input followed to each output, and the cost of forward and reverse
mode for its counts of inputs and outputs (as `choose_mode` decides).

Every pass is a loop over the topologically ordered graph, or an explicit
stack: graphs 100,000 nodes deep need no recursion.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import BindingError, closest
from .evaluation import Evaluation, choose_mode
from .graph import Graph, depends_on, feeds_output, format_number
from .ops import CONSTANTS
from .picture import feeds_outputs, output_index

INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}
LETTERS = "abcdefghijklmnopqrstuvwxyz"
GATES = {  # op -> (pattern, what it does to the gradient), as the CS231n notes put it
    "add": ("distributes", "add distributes: every input gets d{out} unchanged"),
    "sub": ("distributes", "sub distributes: the left input gets d{out}, the right input its negative"),
    "mul": ("swaps", "mul swaps: each input's local derivative is the other input's value"),
    "neg": ("flips", "neg flips the sign of d{out}"),
}


class ForwardLine(NamedTuple):
    node: int
    target: str  # the stage name the line assigns
    op: str
    args: tuple[str, ...]  # the arguments' stage names, or literal texts ("1", "-3", "pi")
    expression: str  # "a + b"
    value: float
    text: str  # "c = a + b = 3"


class BackwardLine(NamedTuple):
    node: int  # the node the gradient flows back from
    source: str  # its stage name
    arg: int  # the argument node it flows to
    target: str  # the argument's stage name
    slot: int  # which argument of `node` (0-based): x*x has two edges from x
    partial: float  # d node / d arg, the local derivative on the edge
    contribution: float  # adjoint of node * partial
    total: float  # the argument's gradient after this line (the running sum)
    accumulate: bool  # "+=": an earlier line already gave the argument a gradient
    uses: int  # lines sending gradient to the argument in the whole pass
    feeds: int  # distinct nodes sending it (uses > feeds: an argument used twice, x*x)
    text: str  # "dc = de * 2 = 2", "db += dc * 1 = 5"


class BackwardStep(NamedTuple):
    node: int
    name: str
    op: str
    adjoint: float  # d output / d node, complete when the step runs
    gate: str | None  # "distributes", "swaps", "routes", "flips" or None
    note: str | None  # the gate pattern in words
    lines: tuple[BackwardLine, ...]  # one per non-literal argument, in argument order


class Skipped(NamedTuple):
    node: int
    name: str
    reason: str


class Path(NamedTuple):
    nodes: tuple[int, ...]  # from the input to the output
    slots: tuple[int, ...]  # per edge: which argument of the next node it enters
    factors: tuple[float, ...]  # per edge: the local partial
    product: float  # the factors multiplied in path order


class PathView(NamedTuple):
    wrt: str
    wrt_node: int
    output: int
    count: int  # exact number of paths (parallel edges count separately)
    paths: tuple[Path, ...]  # the first `limit` paths in depth-first order
    not_shown: int  # count - len(paths)
    limit: int
    sum: float  # the sum over all paths, factored (one tangent sweep): forward mode's derivative
    listed_sum: float  # the listed products added up; equals `sum` up to rounding when none is left out
    gradient: float  # reverse mode's d output / d wrt, for comparison
    enumeration_edges: int  # edge visits of naive path enumeration: the sum of all path lengths
    forward_edges: int  # edge visits of one tangent sweep from wrt: edges whose source depends on wrt
    path_edges: int  # edges lying on some path from wrt to the output (what any method must touch)


class Modes(NamedTuple):
    inputs: int
    outputs: int  # the program's outputs, all of them even when one is explained
    forward_sweeps: int  # one tangent sweep per input gives the whole Jacobian
    reverse_sweeps: int  # one backward sweep per output gives every partial
    cheaper: str  # by number of sweeps: "reverse", "forward", "equal", or "none" without inputs
    edges: int  # all edges of the graph
    # Edge visits of one reverse sweep (from the first output explained): the
    # edges into nodes the output depends on, from nodes that depend on an
    # input (a literal's edge carries nothing).
    reverse_edges: int
    auto: str = "reverse"  # what --mode auto uses for this program (evaluation.choose_mode)


class OutputExplanation(NamedTuple):
    """The backward pass and the paths of one output."""

    index: int  # position in the program's outputs (graph.outputs)
    label: str  # as written in `out` (or the last statement's text)
    node: int
    name: str  # its stage name
    value: float
    start: str  # the backward pass's first line: "du = 1"
    backward: tuple[BackwardStep, ...]  # reverse evaluation order
    skipped: tuple[Skipped, ...]  # evaluation order
    gradient: dict[str, float]  # the output's row of the Jacobian
    paths: PathView | None  # None when there is no single input to follow
    reverse_edges: int  # edge visits of this output's reverse sweep (as Modes.reverse_edges)


class Explanation(NamedTuple):
    """The chain rule for a program; output ... paths repeat `outputs[0]`, for one-output readers."""

    program: str
    point: dict[str, float]
    inputs: tuple[str, ...]
    output: int
    output_name: str
    value: float
    names: tuple[str | None, ...]  # stage name per node id; None for unnamed literals
    forward: tuple[ForwardLine, ...]
    start: str  # the backward pass's first line: "de = 1"
    backward: tuple[BackwardStep, ...]  # reverse evaluation order
    skipped: tuple[Skipped, ...]  # evaluation order
    gradient: dict[str, float]
    paths: PathView | None  # None when there is no single input to follow
    modes: Modes
    outputs: tuple[OutputExplanation, ...] = ()  # the outputs explained: all, or the selected one
    output_labels: tuple[str, ...] = ()  # every output of the program, in `out` order
    selected: str | None = None  # the label `output=` chose, else None
    output_nodes: tuple[int, ...] = ()  # every output's node, aligned with output_labels


def explain(
    evaluation: Evaluation, wrt: str | None = None, path_limit: int = 20, output: str | None = None
) -> Explanation:
    """The chain rule at the evaluated point, stage by stage (any evaluation mode).

    Paths are followed from `wrt`, or from the only input when there is
    exactly one; at most `path_limit` of them are listed, all are counted.
    `output`: the label of the one output to explain (as in `out`); by default
    every output gets its backward pass and paths.
    """
    graph = evaluation.graph
    if path_limit < 0:
        raise ValueError("path_limit must be 0 or more")
    if wrt is not None and wrt not in graph.inputs:
        close = closest(wrt, graph.inputs)
        raise BindingError(
            f"--wrt {wrt}: the program has no input named {wrt}",
            hint=(f"did you mean {close}? " if close else "") + "inputs: " + (", ".join(graph.inputs) or "none"),
        )
    selected = output_index(graph, output)
    if wrt is None and len(graph.inputs) == 1:
        wrt = next(iter(graph.inputs))
    outputs, labels = list(evaluation.outputs), list(evaluation.output_labels)
    names = stage_names(graph)
    texts = [n if n is not None else literal_text(graph, node) for n, node in zip(names, graph.nodes)]
    # One output (the usual case): graph.feeds_output's faster loop gives the same marks.
    masks = feeds_outputs(graph, outputs) if len(outputs) > 1 else None
    live = depends_on(graph)  # edges from constants carry no derivative of any input
    counts = None if wrt is None else _path_counts(evaluation, wrt)
    explained = []
    for index in range(len(outputs)) if selected is None else [selected]:
        node_id, bit = outputs[index], 1 << index
        feeds = feeds_output(graph) if masks is None else [bool(mask & bit) for mask in masks]
        start, backward, skipped, adjoints = _backward(graph, evaluation.partials, names, texts, feeds, node_id)
        if evaluation.jacobian is not None:
            gradient = dict(zip(graph.inputs, evaluation.jacobian[index]))
        else:  # only products were asked for: the pass above is this output's reverse sweep
            gradient = {name: adjoints[i] for name, i in graph.inputs.items()}
        paths = None if counts is None else _paths(evaluation, counts, node_id, path_limit, feeds, gradient[wrt])
        explained.append(OutputExplanation(
            index, labels[index], node_id, names[node_id], evaluation.values[node_id], start, backward, skipped,
            gradient, paths, _reverse_edges(graph, feeds, live),
        ))
    first = explained[0]
    return Explanation(
        program=graph.source,
        point=dict(evaluation.point),
        inputs=tuple(graph.inputs),
        output=first.node,
        output_name=first.name,
        value=first.value,
        names=tuple(names),
        forward=tuple(_forward(graph, evaluation.values, names, texts)),
        start=first.start,
        backward=first.backward,
        skipped=first.skipped,
        gradient=first.gradient,
        paths=first.paths,
        modes=_modes(graph, len(outputs), first.reverse_edges),
        outputs=tuple(explained),
        output_labels=tuple(labels),
        selected=None if selected is None else labels[selected],
        output_nodes=tuple(outputs),
    )


def is_literal(graph: Graph, node, outputs: set[int] | None = None) -> bool:
    """An unnamed constant (a number, or pi/e as written) that is not an output.

    `outputs`: set(graph.outputs), for callers asking about every node.
    """
    if node.op.name != "const" or node.name is not None:
        return False
    return node.id not in (outputs if outputs is not None else set(graph.outputs) | {graph.output})


def literal_text(graph: Graph, node) -> str:
    text = graph.text(node)
    return text if text in CONSTANTS else format_number(node.constant)


def stage_names(graph: Graph) -> list[str | None]:
    """A unique name per non-literal node, for staged code (None for literals).

    A node keeps its program name; the k-th node bound to a name already used
    (x += 1) becomes name_k, so every stage can be told apart in the backward
    pass. Unnamed nodes take the first free single letter (a, b, c, ...), then
    t1, t2, ...; a name is free when the program does not use it, counting the
    constants pi and e only where the program refers to them.
    """
    taken = {node.name for node in graph.nodes if node.name is not None}
    taken.update(graph.text(n) for n in graph.nodes if n.op.name == "const" and graph.text(n) in CONSTANTS)
    versions: dict[str, int] = {}
    names: list[str | None] = []
    fresh = 0  # index into a, ..., z, t1, t2, ...
    outputs = set(graph.outputs) | {graph.output}
    for node in graph.nodes:
        if is_literal(graph, node, outputs):
            names.append(None)
            continue
        if node.name is not None:
            version = versions[node.name] = versions.get(node.name, 0) + 1
            name = node.name
            while version > 1 and name in taken:  # a later node under the same name
                name, version = f"{node.name}_{version}", version + 1
        else:
            name = ""
            while not name or name in taken:
                name = LETTERS[fresh] if fresh < len(LETTERS) else f"t{fresh - len(LETTERS) + 1}"
                fresh += 1
        taken.add(name)
        names.append(name)
    return names


def expression(op: str, args: list[str]) -> str:
    """The right-hand side of a stage in the language's own syntax."""
    if op in INFIX:
        left, right = args
        if op == "pow" and left.startswith("-"):
            left = f"({left})"  # -3 ^ 2 would read as -(3^2)
        return f"{left} {INFIX[op]} {right}"
    if op == "neg":
        return f"-({args[0]})" if args[0].startswith("-") else f"-{args[0]}"
    if op == "id":
        return args[0]
    return f"{op}({', '.join(args)})"


def _forward(graph: Graph, values, names, texts) -> list[ForwardLine]:
    lines = []
    for node in graph.nodes:
        op = node.op.name
        if names[node.id] is None or op == "input":
            continue
        args = tuple(texts[a] for a in node.args)
        expr = literal_text(graph, node) if op == "const" else expression(op, list(args))
        value = format_number(values[node.id])
        text = f"{names[node.id]} = {expr}" + ("" if expr == value else f" = {value}")
        lines.append(ForwardLine(node.id, names[node.id], op, args, expr, values[node.id], text))
    return lines


def _backward(graph: Graph, partials, names, texts, feeds, output: int):
    """The reverse sweep of graph.reverse_sweep from `output`, line by line: the same sums in the same order.

    Also returns the adjoints it computed (every node's d output / d node).
    """
    nodes = graph.nodes
    adjoints = [0.0] * len(nodes)
    adjoints[output] = 1.0
    uses, senders, last_sender = [0] * len(nodes), [0] * len(nodes), [-1] * len(nodes)
    raw = []  # (node id, its adjoint, [(slot, arg, partial, contribution, total, accumulate)])
    for node_id in range(output, -1, -1):
        adjoint, node = adjoints[node_id], nodes[node_id]
        if adjoint == 0.0 or not node.args:
            continue  # as reverse_sweep: nothing flows back from here
        edges = []
        for slot, (arg, partial) in enumerate(zip(node.args, partials[node_id])):
            contribution = adjoint * partial
            adjoints[arg] += contribution
            if names[arg] is not None:  # literals need no gradient
                edges.append((slot, arg, partial, contribution, adjoints[arg], uses[arg] > 0))
                uses[arg] += 1
                if last_sender[arg] != node_id:  # one node's edges to arg come together
                    senders[arg], last_sender[arg] = senders[arg] + 1, node_id
        raw.append((node_id, adjoint, edges))
    steps = []
    for node_id, adjoint, edges in raw:
        node, name = nodes[node_id], names[node_id]
        lines = tuple(
            BackwardLine(
                node_id, name, arg, names[arg], slot, partial, contribution, total, accumulate,
                uses[arg], senders[arg],
                f"d{names[arg]} {'+=' if accumulate else '='} d{name} * {format_number(partial)}"
                f" = {format_number(total)}",
            )
            for slot, arg, partial, contribution, total, accumulate in edges
        )
        if lines:
            gate, note = _gate(node, name, texts, partials[node_id])
            steps.append(BackwardStep(node_id, name, node.op.name, adjoint, gate, note, lines))
    skipped = []
    # Named after the output when there are several, so each backward pass reads on its own.
    whom = "the output" if len(graph.outputs) <= 1 else names[output]
    for node in nodes:
        if names[node.id] is None:
            continue
        if not feeds[node.id]:
            skipped.append(Skipped(node.id, names[node.id], f"does not feed {whom}: its gradient is 0"))
        elif node.args and adjoints[node.id] == 0.0:
            skipped.append(Skipped(node.id, names[node.id], "its adjoint is 0 here, so nothing flows back"))
    return f"d{names[output]} = 1", tuple(steps), tuple(skipped), adjoints


def _gate(node, name: str, texts, partials) -> tuple[str | None, str | None]:
    op = node.op.name
    if op in GATES:
        gate, note = GATES[op]
        return gate, note.format(out=name)
    if op in ("max", "min"):
        winners = [texts[a] for a, p in zip(node.args, partials) if p != 0.0]
        which = "largest" if op == "max" else "smallest"
        if len(winners) == 1:
            return "routes", f"{op} routes: d{name} goes to the {which} input, {winners[0]}; the others get 0"
        tied = ", ".join(dict.fromkeys(winners))  # max(x, x): x twice, named once
        return "routes", f"{op} routes: the {len(winners)} tied {which} inputs ({tied}) share d{name} equally"
    return None, None


class _PathCounts(NamedTuple):
    """What paths from wrt are like at every node; the same for every output."""

    wrt: str
    start: int
    count: list[int]  # the number of paths from wrt (exact Python ints)
    lengths: list[int]  # the sum of their lengths
    tangent: list[float]  # the sum of their products, factored as in forward mode
    reached: list[int]  # the node's edges from nodes that wrt reaches
    forward_edges: int  # edge visits of one tangent sweep from wrt


def _path_counts(evaluation: Evaluation, wrt: str) -> _PathCounts:
    graph, partials = evaluation.graph, evaluation.partials
    nodes, start = graph.nodes, graph.inputs[wrt]
    # By one loop in topological order; the tangents are the same sums as tangent_sweep's.
    count, lengths, tangent = [0] * len(nodes), [0] * len(nodes), [0.0] * len(nodes)
    reached = [0] * len(nodes)
    count[start], tangent[start] = 1, 1.0
    forward_edges = 0
    for node in nodes[start + 1 :]:
        c = length = edges = 0
        total = 0.0
        for arg, partial in zip(node.args, partials[node.id]):
            if count[arg]:
                c += count[arg]
                length += lengths[arg] + count[arg]  # every path to arg, one edge longer
                edges += 1
                if tangent[arg] != 0.0:
                    total += partial * tangent[arg]
        count[node.id], lengths[node.id], tangent[node.id], reached[node.id] = c, length, total, edges
        forward_edges += edges
    return _PathCounts(wrt, start, count, lengths, tangent, reached, forward_edges)


def _paths(evaluation: Evaluation, counts: _PathCounts, output: int, limit: int, feeds, gradient: float) -> PathView:
    count, start = counts.count, counts.start
    path_edges = sum(r for r, f in zip(counts.reached, feeds) if f)
    paths = _enumerate(evaluation.graph, evaluation.partials, start, output, limit,
                       [bool(c) and f for c, f in zip(count, feeds)])
    return PathView(
        counts.wrt, start, output, count[output], tuple(paths), count[output] - len(paths), limit,
        counts.tangent[output], sum(p.product for p in paths), gradient,
        counts.lengths[output], counts.forward_edges, path_edges,
    )


def _enumerate(graph: Graph, partials, start: int, output: int, limit: int, on_path) -> list[Path]:
    """The first `limit` paths from start to output, by depth-first search with an explicit stack."""
    successors: dict[int, list[tuple[int, int]]] = {}
    for node in graph.nodes[start + 1 :]:
        if on_path[node.id]:
            for slot, arg in enumerate(node.args):
                if on_path[arg]:
                    successors.setdefault(arg, []).append((node.id, slot))
    paths: list[Path] = []
    if not on_path[start] or limit == 0:
        return paths
    trail, slots, next_edge = [start], [], [0]  # the current path, and where each node's search resumes
    while trail and len(paths) < limit:
        node_id = trail[-1]
        out_edges = successors.get(node_id, ())
        if node_id == output or next_edge[-1] >= len(out_edges):
            if node_id == output:
                factors = tuple(partials[n][s] for n, s in zip(trail[1:], slots))
                product = 1.0
                for factor in factors:
                    product *= factor
                paths.append(Path(tuple(trail), tuple(slots), factors, product))
            trail.pop()
            next_edge.pop()
            if slots:
                slots.pop()
            continue
        successor, slot = out_edges[next_edge[-1]]
        next_edge[-1] += 1
        trail.append(successor)
        slots.append(slot)
        next_edge.append(0)
    return paths


def _reverse_edges(graph: Graph, feeds, live) -> int:
    """Edge visits of one reverse sweep: edges into nodes that feed the output, from live nodes."""
    return sum(sum(1 for a in node.args if live[a]) for node in graph.nodes if feeds[node.id])


def _modes(graph: Graph, outputs: int, reverse_edges: int) -> Modes:
    edges = sum(len(node.args) for node in graph.nodes)
    inputs = len(graph.inputs)
    if inputs == 0:
        cheaper = "none"
    else:
        cheaper = "equal" if inputs == outputs else "reverse" if inputs > outputs else "forward"
    return Modes(inputs, outputs, inputs, outputs, cheaper, edges, reverse_edges, choose_mode(inputs, outputs))


def decimal(n: int) -> str:
    """The decimal digits of any int, even past Python's int-to-str digit limit (4300 by default)."""
    sign, n = ("-", -n) if n < 0 else ("", n)
    chunk = 10**500  # below the smallest limit Python allows (640 digits)
    parts = []
    while n >= chunk:
        n, low = divmod(n, chunk)
        parts.append(str(low).zfill(500))
    return sign + str(n) + "".join(reversed(parts))
