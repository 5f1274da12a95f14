"""What a picture of the computational graph shows, as plain data.

`gradcli graph` draws the graph in several formats (terminal, DOT, Mermaid,
SVG/PNG through Graphviz, JSON); every one of them draws a `Picture`: the
nodes with their value and adjoint (and tangent with --wrt), the edges with
their local derivative. The renderers only decide how it looks.
"""

from __future__ import annotations

from typing import NamedTuple

from .evaluation import Evaluation
from .graph import feeds_output

TEXT_LIMIT = 40


class PictureNode(NamedTuple):
    id: int
    name: str | None  # the program name bound to the node, if any
    text: str  # its source text, shortened in the middle past TEXT_LIMIT characters
    op: str
    role: str  # "input", "const" (a literal or pi/e), "output" or "node"
    value: float
    adjoint: float  # d(output)/d(node)
    tangent: float | None  # d(node)/d(wrt), with a --wrt input
    feeds_output: bool  # False for statements the output does not use

    @property
    def label(self) -> str:
        """What a person calls the node: its name, else its source text."""
        return self.name if self.name is not None else self.text


class PictureEdge(NamedTuple):
    source: int  # the argument node
    target: int  # the node that uses it
    argument: int  # which argument of the target, from 0 (x*x has two edges from x)
    partial: float  # the local derivative d(target)/d(source) along this edge


class Picture(NamedTuple):
    program: str
    point: dict[str, float]
    nodes: list[PictureNode]
    edges: list[PictureEdge]
    output: int
    wrt: str | None


def picture(evaluation: Evaluation, text_limit: int = TEXT_LIMIT) -> Picture:
    """The picture of an evaluated graph; needs reverse-mode adjoints (mode="reverse")."""
    if evaluation.adjoints is None:
        raise ValueError("a picture shows adjoints: evaluate with mode='reverse'")
    graph = evaluation.graph
    feeds = feeds_output(graph)
    wrt = next(iter(evaluation.tangents), None)
    tangents = evaluation.tangents.get(wrt) if wrt is not None else None
    nodes, edges = [], []
    for node in graph.nodes:
        op = node.op.name
        role = "output" if node.id == graph.output else op if op in ("input", "const") else "node"
        nodes.append(
            PictureNode(
                node.id,
                node.name,
                graph.text(node, text_limit),
                op,
                role,
                evaluation.values[node.id],
                evaluation.adjoints[node.id],
                tangents[node.id] if tangents is not None else None,
                feeds[node.id],
            )
        )
        for position, (arg, partial) in enumerate(zip(node.args, evaluation.partials[node.id])):
            edges.append(PictureEdge(arg, node.id, position, partial))
    return Picture(graph.source, dict(evaluation.point), nodes, edges, graph.output, wrt)
