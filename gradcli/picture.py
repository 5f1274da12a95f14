"""What a picture of the computational graph shows, as plain data.

`gradcli graph` draws the graph in several formats (terminal, DOT, Mermaid,
SVG/PNG through Graphviz, JSON); every one of them draws a `Picture`: the
nodes with their value and adjoints (and tangent with --wrt), the edges with
their local derivative. The renderers only decide how it looks.

A program may have several outputs (`out u, v`): every node then carries one
adjoint per output, and a picture may be about all of them or about one
selected output (`--of v`), which it then draws as if it were the only one.
"""

from __future__ import annotations

from typing import NamedTuple

from .evaluation import Evaluation, unknown_name_error
from .graph import Graph, feeds_outputs

TEXT_LIMIT = 40


class PictureNode(NamedTuple):
    id: int
    name: str | None  # the program name bound to the node, if any
    text: str  # its source text, shortened in the middle past TEXT_LIMIT characters
    op: str
    role: str  # "input", "const" (a literal or pi/e), "output" or "node"
    value: float
    adjoint: float  # d(output)/d(node): the selected output's, else the first output's
    tangent: float | None  # d(node)/d(wrt), with a --wrt input
    feeds_output: bool  # False for nodes no output shown uses (the selected one, else any)
    adjoints: tuple[float, ...] = ()  # d(output k)/d(node), one per output of the program
    feeds_outputs: tuple[bool, ...] = ()  # does output k use the node, one per output

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
    output: int  # the selected output's node, else the first output's
    wrt: str | None
    outputs: tuple[int, ...] = ()  # every output's node, in the order of `out`
    output_labels: tuple[str, ...] = ()  # how each is called: its text in `out`
    selected: int | None = None  # index into outputs of the one shown (--of), None for all

    @property
    def shown(self) -> list[int]:
        """Indices into `outputs` of the outputs the picture is about."""
        return [self.selected] if self.selected is not None else list(range(len(self.outputs)))

    @property
    def several(self) -> bool:
        """Several outputs shown at once: each node then shows one adjoint per output."""
        return len(self.shown) > 1

    def output_names(self, node_id: int) -> list[str]:
        """The labels of the outputs the node is (two when `out u, (u)`), in `out` order."""
        return [label for out, label in zip(self.outputs, self.output_labels) if out == node_id]


def output_index(graph: Graph, label: str | None) -> int | None:
    """The position in graph.outputs of the output called `label` (None for None).

    An unknown label is a BindingError naming the closest label and all of them.
    """
    if label is None:
        return None
    labels = graph.output_labels
    if label in labels:
        return labels.index(label)
    raise unknown_name_error(f"--of {label}", label, dict.fromkeys(labels, 0), "output")


def picture(
    evaluation: Evaluation, text_limit: int = TEXT_LIMIT, output: str | None = None
) -> Picture:
    """The picture of an evaluated graph (mode="reverse" has the adjoints ready; others cost sweeps).

    `output`: the label of the one output to show (as in `out`); by default all.
    """
    graph = evaluation.graph
    outputs = list(evaluation.outputs)
    selected = output_index(graph, output)
    masks = feeds_outputs(graph, outputs)
    # The nodes "in" the picture: those the selected output uses, else those any output uses.
    shown_mask = (1 << selected) if selected is not None else (1 << len(outputs)) - 1
    per_output = [evaluation.adjoints_of(index) for index in range(len(evaluation.outputs))]
    chosen = per_output[selected or 0]
    is_output = set(outputs)
    # Only the --wrt input's tangents are shown: forward mode keeps every input's.
    wrt = evaluation.wrt
    tangents = evaluation.tangents.get(wrt) if wrt is not None else None
    nodes, edges = [], []
    for node in graph.nodes:
        op = node.op.name
        role = "output" if node.id in is_output else op if op in ("input", "const") else "node"
        mask = masks[node.id]
        nodes.append(
            PictureNode(
                node.id,
                node.name,
                graph.text(node, text_limit),
                op,
                role,
                evaluation.values[node.id],
                chosen[node.id],
                tangents[node.id] if tangents is not None else None,
                bool(mask & shown_mask),
                tuple(adjoints[node.id] for adjoints in per_output),
                tuple(bool(mask >> k & 1) for k in range(len(outputs))),
            )
        )
        for position, (arg, partial) in enumerate(zip(node.args, evaluation.partials[node.id])):
            edges.append(PictureEdge(arg, node.id, position, partial))
    return Picture(
        graph.source, dict(evaluation.point), nodes, edges, outputs[selected or 0], wrt,
        tuple(outputs), tuple(evaluation.output_labels), selected,
    )
