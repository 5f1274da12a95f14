"""The computational graph and the passes over it.

A graph is a flat list of nodes in topological order (a Wengert list: the
staged code of the CS231n notes). Nodes refer to their arguments by index,
so every pass below is a plain loop: no recursion, whatever the depth.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from .errors import DomainError, NonFiniteError
from .ops import Op


# Plain classes rather than dataclasses: defining a dataclass costs about 0.6 ms
# at import, and start-up is part of gradcli's job.


class Node:
    __slots__ = ("id", "op", "args", "span", "name", "constant")

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
        self.span = span
        self.name = name
        self.constant = constant

    def __repr__(self) -> str:
        return f"Node({self.id}, {self.op.name}, args={self.args}, span={self.span}, name={self.name!r})"


class Graph:
    def __init__(self, source: str):
        self.source = source
        self.nodes: list[Node] = []
        self.inputs: dict[str, int] = {}  # name -> node id, first appearance order
        self.output = -1

    def __repr__(self) -> str:
        return f"Graph({self.source!r}, {len(self.nodes)} nodes, inputs={list(self.inputs)}, output={self.output})"

    def text(self, node: Node, limit: int | None = None) -> str:
        """The source text of a node, shortened in the middle past `limit` characters."""
        start, end = node.span
        if limit is not None and end - start > limit:
            half = max(1, (limit - 1) // 2)
            return self.source[start : start + half] + "…" + self.source[end - half : end]
        return self.source[start:end]

    def label(self, node: Node, limit: int | None = 40) -> str:
        """What a person calls a node: its program name, or else its source text."""
        return node.name if node.name is not None else self.text(node, limit)


def forward_values(graph: Graph, point: Mapping[str, float]) -> list[float]:
    """The value of every node at `point` (which must bind every input).

    Converts Python's math exceptions into errors that name the node: this
    loop is the one place that knows which node was being computed.
    """
    values: list[float] = [0.0] * len(graph.nodes)
    input_names = {node_id: name for name, node_id in graph.inputs.items()}
    for node in graph.nodes:
        op = node.op
        if op.forward is None:
            values[node.id] = point[input_names[node.id]] if node.constant is None else node.constant
            continue
        args = [values[i] for i in node.args]
        try:
            value = op.forward(*args)
        except (ValueError, ZeroDivisionError) as exc:
            raise _domain_error(graph, node, args) from exc
        except OverflowError as exc:
            raise _overflow_error(graph, node, args) from exc
        if not math.isfinite(value):
            raise _overflow_error(graph, node, args)
        values[node.id] = value
    return values


def local_partials(graph: Graph, values: Sequence[float]) -> list[tuple[float, ...]]:
    """Every node's partial derivatives with respect to its arguments (the edge labels)."""
    result: list[tuple[float, ...]] = [()] * len(graph.nodes)
    for node in graph.nodes:
        if node.op.partials is not None:
            result[node.id] = node.op.partials([values[i] for i in node.args], values[node.id])
    return result


def reverse_sweep(
    graph: Graph, partials: Sequence[tuple[float, ...]], output: int | None = None
) -> list[float]:
    """The adjoint d(output)/d(node) of every node, in one backward loop.

    Adjoints accumulate (+=): a node used several times receives the sum of
    what flows back along each use. Nodes the output does not depend on keep 0.
    """
    output = graph.output if output is None else output
    adjoints = [0.0] * len(graph.nodes)
    adjoints[output] = 1.0
    nodes = graph.nodes
    for node_id in range(output, -1, -1):
        adjoint = adjoints[node_id]
        if adjoint == 0.0:
            continue  # nothing flows back from here (also skips unused branches)
        node = nodes[node_id]
        for arg, partial in zip(node.args, partials[node_id]):
            adjoints[arg] += adjoint * partial
    return adjoints


def tangent_sweep(graph: Graph, partials: Sequence[tuple[float, ...]], wrt: str) -> list[float]:
    """The tangent d(node)/d(wrt) of every node, in one forward loop (forward mode)."""
    tangents = [0.0] * len(graph.nodes)
    tangents[graph.inputs[wrt]] = 1.0
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
    depends = [False] * len(graph.nodes)
    for node in graph.nodes:
        if sources is None:
            depends[node.id] = node.op.name == "input" or any(depends[a] for a in node.args)
        else:
            depends[node.id] = node.id in sources or any(depends[a] for a in node.args)
    return depends


def feeds_output(graph: Graph) -> list[bool]:
    """Which nodes the output depends on (itself included)."""
    feeds = [False] * len(graph.nodes)
    feeds[graph.output] = True
    for node in reversed(graph.nodes):
        if feeds[node.id]:
            for arg in node.args:
                feeds[arg] = True
    return feeds


def kinks(graph: Graph, values: Sequence[float]) -> list[tuple[int, str]]:
    """The nodes sitting exactly at a non-differentiable point, with a description."""
    found = []
    for node in graph.nodes:
        if node.op.kink is not None:
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
