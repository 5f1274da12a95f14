"""The computational graph and the passes over it.

A graph is a flat list of nodes in topological order (a Wengert list: the
staged code of the CS231n notes). Nodes refer to their arguments by index,
so every pass below is a plain loop: no recursion, whatever the depth.
"""

from __future__ import annotations

import gc
import math
from itertools import compress
from math import isfinite
from operator import attrgetter
from typing import Mapping, Sequence

from .errors import DomainError, NonFiniteError
from .ops import Op


# Plain classes rather than dataclasses: defining a dataclass costs about 0.6 ms
# at import, and start-up is part of gradcli's job.


class Node:
    # Two ints rather than a span tuple: a tuple more per node is about 50 bytes
    # in graphs of millions of nodes.
    __slots__ = ("id", "op", "args", "start", "end", "name", "constant")

    def __init__(
        self,
        id: int,
        op: Op,
        args: tuple[int, ...],
        span: tuple[int, int],  # the source text this node stands for
        name: str | None = None,  # the program name bound to this node, if any
        constant: float | None = None,  # the value of a const node
    ):
        self.id = id
        self.op = op
        self.args = args
        self.start, self.end = span
        self.name = name
        self.constant = constant

    @property
    def span(self) -> tuple[int, int]:
        """[start, end) character offsets of the source text this node stands for."""
        return self.start, self.end

    @span.setter
    def span(self, span: tuple[int, int]) -> None:
        self.start, self.end = span

    def __repr__(self) -> str:
        return f"Node({self.id}, {self.op.name}, args={self.args}, span={self.span}, name={self.name!r})"


class bulk_allocation:
    """A block that allocates many objects and makes no reference cycles:
    Python's cycle collector is paused in it.

    The collector runs every few hundred allocations and, as the generations
    fill, traverses every object of a graph being built or evaluated again and
    again, none of which it could free. (Nested blocks leave it to the outermost.)
    """

    def __enter__(self) -> None:
        self.collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info) -> None:
        if self.collecting:
            gc.enable()


class Graph:
    def __init__(self, source: str):
        self.source = source
        self.nodes: list[Node] = []
        self.inputs: dict[str, int] = {}  # name -> node id, first appearance order
        # Set by whoever builds the graph (the parser): every output's node in the
        # order of `out` (or the last statement's alone), how each is called (its
        # text in `out`), and the first, which commands with one output use.
        self.outputs: list[int] = []
        self.output_labels: list[str] = []
        self.output = -1

    def single_output(self, what: str) -> int:
        """The output of a program that must have one (`what` says who needs it)."""
        if len(self.outputs) > 1:
            from .errors import InputError

            raise InputError(
                f"{what} works on a program with one output, and this one has {len(self.outputs)}: "
                + ", ".join(self.output_labels),
                hint="keep one output in the `out` statement (or drop it: the last statement is then the output)",
            )
        return self.output

    def __repr__(self) -> str:
        return f"Graph({self.source!r}, {len(self.nodes)} nodes, inputs={list(self.inputs)}, output={self.output})"

    def text(self, node: Node, limit: int | None = None) -> str:
        """The source text of a node, shortened in the middle past `limit` characters."""
        start, end = node.start, node.end
        if limit is not None and end - start > limit:
            half = max(1, (limit - 1) // 2)
            return self.source[start : start + half] + "…" + self.source[end - half : end]
        return self.source[start:end]

    def label(self, node: Node, limit: int | None = 40) -> str:
        """What a person calls a node: its program name, or else its source text."""
        return node.name if node.name is not None else self.text(node, limit)


# The passes below run once per node of programs with 10^5 nodes and more, so
# they are written for CPython's speed: attributes read for every node at once
# by C functions (attrgetter, compress), leaves handled before the loop, one
# and two arguments (nearly every node) without a loop of their own. Results,
# errors and the order of every floating-point sum are those of the plain loops
# the docstrings describe.
_OP_NAME = attrgetter("op.name")
_ARGS = attrgetter("args")
_CONSTANT = attrgetter("constant")
_FORWARD = attrgetter("op.forward")
_KINK = attrgetter("op.kink")


def _computed(nodes: Sequence[Node]):
    """The nodes that are not leaves (inputs and constants), in order."""
    return compress(nodes, map(_FORWARD, nodes))


def forward_values(graph: Graph, point: Mapping[str, float]) -> list[float]:
    """The value of every node at `point` (which must bind every input).

    Converts Python's math exceptions into errors that name the node: this
    loop is the one place that knows which node was being computed.
    """
    return _forward(graph, point, None)


def values_and_partials(graph: Graph, point: Mapping[str, float]) -> tuple[list[float], list[tuple[float, ...]]]:
    """forward_values and local_partials in one loop, which gathers each node's arguments once."""
    partials: list[tuple[float, ...]] = [()] * len(graph.nodes)
    return _forward(graph, point, partials), partials


def _forward(graph: Graph, point: Mapping[str, float], partials: list | None) -> list[float]:
    """Every node's value; and its partials too, into `partials`, when that is a list."""
    values = list(map(_CONSTANT, graph.nodes))  # constants' values, None elsewhere
    for name, node_id in graph.inputs.items():
        values[node_id] = point[name]
    for node in _computed(graph.nodes):
        args = node.args
        if len(args) == 1:
            arg_values = (values[args[0]],)
        elif len(args) == 2:
            arg_values = (values[args[0]], values[args[1]])
        else:
            arg_values = tuple([values[i] for i in args])
        op = node.op
        try:
            value = op.forward(*arg_values)
        except (ValueError, ZeroDivisionError) as exc:
            raise _domain_error(graph, node, arg_values) from exc
        except OverflowError as exc:
            raise _overflow_error(graph, node, arg_values) from exc
        if not isfinite(value):
            raise _overflow_error(graph, node, arg_values)
        values[node.id] = value
        if partials is not None:
            partials[node.id] = op.partials(arg_values, value)
    return values


def local_partials(graph: Graph, values: Sequence[float]) -> list[tuple[float, ...]]:
    """Every node's partial derivatives with respect to its arguments (the edge labels)."""
    result: list[tuple[float, ...]] = [()] * len(graph.nodes)
    for node in _computed(graph.nodes):
        args = node.args
        if len(args) == 1:
            arg_values = (values[args[0]],)
        elif len(args) == 2:
            arg_values = (values[args[0]], values[args[1]])
        else:
            arg_values = tuple([values[i] for i in args])
        result[node.id] = node.op.partials(arg_values, values[node.id])
    return result


def reverse_sweep(
    graph: Graph, partials: Sequence[tuple[float, ...]], output: int | Mapping[int, float] | None = None
) -> list[float]:
    """The adjoint d(output)/d(node) of every node, in one backward loop.

    Adjoints accumulate (+=): a node used several times receives the sum of
    what flows back along each use. Nodes the output does not depend on keep 0.
    `output` may also weigh several nodes (node -> weight, a cotangent): the
    adjoints are then those of the weighted sum of those nodes.
    """
    adjoints = [0.0] * len(graph.nodes)
    if isinstance(output, Mapping):
        for node_id, weight in output.items():
            adjoints[node_id] += weight
        output = max(output, default=0)
    else:
        output = graph.output if output is None else output
        adjoints[output] = 1.0
    # From the output down (a node after it cannot feed it): each node's id, arguments and partials.
    ids = range(output, -1, -1)
    backwards = zip(ids, map(_ARGS, reversed(graph.nodes[: output + 1])), reversed(partials[: output + 1]))
    for node_id, args, node_partials in backwards:
        adjoint = adjoints[node_id]
        if adjoint == 0.0:
            continue  # nothing flows back from here (also skips unused branches)
        if len(args) == 2:
            a, b = args
            p, q = node_partials
            adjoints[a] += adjoint * p
            adjoints[b] += adjoint * q
        elif len(args) == 1:
            adjoints[args[0]] += adjoint * node_partials[0]
        else:
            for arg, partial in zip(args, node_partials):
                adjoints[arg] += adjoint * partial
    return adjoints


def tangent_sweep(
    graph: Graph, partials: Sequence[tuple[float, ...]], wrt: str | Mapping[int, float]
) -> list[float]:
    """The tangent d(node)/d(wrt) of every node, in one forward loop (forward mode).

    `wrt` is an input's name, or the tangents of several nodes (a direction:
    input node -> its component), which gives every node's derivative along it.
    """
    tangents = [0.0] * len(graph.nodes)
    seeds = {graph.inputs[wrt]: 1.0} if isinstance(wrt, str) else wrt
    for node_id, tangent in seeds.items():
        tangents[node_id] = tangent
    for node in graph.nodes:
        if node.args:
            total = 0.0
            for arg, partial in zip(node.args, partials[node.id]):
                tangent = tangents[arg]
                if tangent != 0.0:
                    total += partial * tangent
            tangents[node.id] = total
    return tangents


def depends_on(graph: Graph, sources: set[int] | None = None) -> list[bool]:
    """Which nodes depend on the `sources` (default: on any input)."""
    if sources is None:
        return depends_on_inputs(graph.nodes)
    depends = [False] * len(graph.nodes)
    for source in sources:
        depends[source] = True
    return _spread(graph.nodes, depends)


def depends_on_inputs(nodes: Sequence[Node]) -> list[bool]:
    """Which of `nodes` (a graph's nodes, or the first of them) depend on an input."""
    return _spread(nodes, [name == "input" for name in map(_OP_NAME, nodes)])


def _spread(nodes: Sequence[Node], depends: list[bool]) -> list[bool]:
    """Marks every node that has a marked argument, in topological order."""
    for node in _computed(nodes):
        if not depends[node.id]:
            for arg in node.args:
                if depends[arg]:
                    depends[node.id] = True
                    break
    return depends


def feeds_output(graph: Graph, outputs: Sequence[int] | None = None) -> list[bool]:
    """Which nodes an output depends on (the outputs included): any of `outputs`,
    by default any of the program's."""
    feeds = [False] * len(graph.nodes)
    for output in graph.outputs if outputs is None else outputs:
        feeds[output] = True
    # Backwards over the nodes that feed the output: `reversed(feeds)` reads each
    # flag when its node comes up, after every later node has set it.
    for args in compress(map(_ARGS, reversed(graph.nodes)), reversed(feeds)):
        for arg in args:
            feeds[arg] = True
    return feeds


def feeds_outputs(graph: Graph, outputs: Sequence[int]) -> list[int]:
    """Per node, a bit mask of the outputs that depend on it (bit k: outputs[k]).

    feeds_output for several outputs apart, in one backward loop in which each
    node passes its mask on to its arguments (Python ints are bit sets of any
    size, so 1,000 outputs cost no more loops than one).
    """
    masks = [0] * len(graph.nodes)
    for k, output in enumerate(outputs):
        masks[output] |= 1 << k
    for node in reversed(graph.nodes[: max(outputs, default=-1) + 1]):  # nothing after the last output feeds one
        mask = masks[node.id]
        if mask:
            for arg in node.args:
                masks[arg] |= mask
    return masks


def kinks(graph: Graph, values: Sequence[float]) -> list[tuple[int, str]]:
    """The nodes sitting exactly at a non-differentiable point, with a description."""
    found = []
    nodes = graph.nodes
    for node in compress(nodes, map(_KINK, nodes)):  # the nodes whose op has kinks
        description = node.op.kink([values[i] for i in node.args])
        if description is not None:
            found.append((node.id, description))
    return found


def format_number(x: float) -> str:
    """Shortest round-trip text for a double; integers without a trailing .0."""
    if math.isfinite(x) and x == int(x) and abs(x) < 2.0**53:
        return str(int(x)) if x != 0.0 or math.copysign(1.0, x) > 0 else "-0"
    return repr(x)


def _describe_args(graph: Graph, node: Node, args: Sequence[float]) -> str:
    described = []
    for arg_id, value in zip(node.args, args):
        arg = graph.nodes[arg_id]
        if arg.op.name == "const" and arg.name is None:
            described.append(format_number(value))  # a literal: its text is its value
        else:
            described.append(f"{graph.label(arg, 30)} = {format_number(value)}")
    return ", ".join(described)


def _domain_error(graph: Graph, node: Node, args: Sequence[float]) -> DomainError:
    op = node.op
    return DomainError(
        f"node {node.id} `{graph.text(node, 60)}` is undefined: {op.name} needs "
        f"{op.domain or 'other arguments'}, but got {_describe_args(graph, node, args)}",
        span=node.span,
        source=graph.source,
        node=node.id,
        hint="evaluate at a point inside the domain, or change the program so this node stays inside it",
        details={"op": op.name, "arguments": list(args)},
    )


def _overflow_error(graph: Graph, node: Node, args: Sequence[float]) -> NonFiniteError:
    return NonFiniteError(
        f"node {node.id} `{graph.text(node, 60)}` overflows: {node.op.name} of "
        f"{_describe_args(graph, node, args)} is not a finite double",
        span=node.span,
        source=graph.source,
        node=node.id,
        hint="evaluate at a point where every intermediate value stays below 1.8e308 in size",
        details={"op": node.op.name, "arguments": list(args)},
    )
