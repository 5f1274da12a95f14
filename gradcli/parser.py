"""Grammar loading and the graph-building transformer.

Lark's LALR parser calls the `_Builder` methods at every reduction, in
post-order, so nodes are appended to the graph in topological order while
the text is parsed: no parse tree, no recursion. Each callback returns a
`_Ref`: the node an expression evaluates to and the source span of that
expression (parentheses included), which may differ from the node's own span.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from .errors import ArityError, ProgramSyntaxError, UnknownNameError, closest
from .graph import Graph, Node
from .ops import CONSTANTS, FUNCTIONS, OPS, Op

_HERE = os.path.dirname(os.path.abspath(__file__))
# The wheel carries the grammar inside the package; a checkout or an editable
# install finds it at the top of the repository. (os.path, not pathlib: start-up.)
_GRAMMAR_CANDIDATES = (
    os.path.join(_HERE, "grammar", "gradcli.lark"),
    os.path.join(os.path.dirname(_HERE), "grammar", "gradcli.lark"),
)


def grammar_path() -> str:
    for candidate in _GRAMMAR_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("gradcli.lark not found; the installation is incomplete")


class _Ref(NamedTuple):
    node: int
    start: int
    end: int


_AUGMENTED_OPS = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}
_ADD, _SUB, _MUL, _DIV, _POW = (OPS[name] for name in ("add", "sub", "mul", "div", "pow"))


class _Builder:
    """Lark transformer callbacks; one instance builds one graph."""

    def __init__(self, source: str):
        self.graph = Graph(source)
        self.nodes = self.graph.nodes
        self.scope: dict[str, int] = {}  # names assigned so far -> node id
        self.last_statement: int | None = None

    # -- helpers -----------------------------------------------------------------

    # These run once per node of programs with 10^5 nodes and more: no keyword
    # arguments, op entries looked up once.
    def _add(self, op_name: str, args: tuple[int, ...], start: int, end: int, name=None, constant=None) -> int:
        node_id = len(self.nodes)
        self.nodes.append(Node(node_id, OPS[op_name], args, (start, end), name, constant))
        return node_id

    def _binary(self, op: Op, children) -> _Ref:
        left, _operator, right = children
        node_id = len(self.nodes)
        self.nodes.append(Node(node_id, op, (left.node, right.node), (left.start, right.end)))
        return _Ref(node_id, left.start, right.end)

    def _error(self, cls, message: str, start: int, end: int, hint: str | None = None):
        return cls(message, span=(start, end), source=self.graph.source, hint=hint)

    def _lookup(self, token) -> int:
        """The node a name means at this point of the program."""
        name = token.value
        if name in self.scope:
            return self.scope[name]
        if name in CONSTANTS:
            return self._add("const", (), token.start_pos, token.end_pos, constant=CONSTANTS[name])
        if name in FUNCTIONS:
            raise self._error(
                UnknownNameError,
                f"`{name}` is a function, not a value",
                token.start_pos,
                token.end_pos,
                hint=f"call it with an argument, as in {name}(x)",
            )
        if name not in self.graph.inputs:
            self.graph.inputs[name] = self._add("input", (), token.start_pos, token.end_pos, name=name)
        return self.graph.inputs[name]

    def _check_target(self, token) -> None:
        if token.value in FUNCTIONS:
            raise self._error(
                UnknownNameError,
                f"cannot assign to `{token.value}`: it is the name of a function",
                token.start_pos,
                token.end_pos,
                hint="choose another name for the variable",
            )

    def _bind(self, token, node_id: int) -> int:
        self.scope[token.value] = node_id
        self.last_statement = node_id
        return node_id

    # -- expressions ---------------------------------------------------------------

    def number(self, children) -> _Ref:
        token = children[0]
        node = self._add("const", (), token.start_pos, token.end_pos, constant=float(token.value))
        return _Ref(node, token.start_pos, token.end_pos)

    def name(self, children) -> _Ref:
        token = children[0]
        return _Ref(self._lookup(token), token.start_pos, token.end_pos)

    def group(self, children) -> _Ref:
        lpar, inner, rpar = children
        return _Ref(inner.node, lpar.start_pos, rpar.end_pos)

    def add(self, children) -> _Ref:
        return self._binary(_ADD, children)

    def sub(self, children) -> _Ref:
        return self._binary(_SUB, children)

    def mul(self, children) -> _Ref:
        return self._binary(_MUL, children)

    def div(self, children) -> _Ref:
        return self._binary(_DIV, children)

    def pow(self, children) -> _Ref:
        return self._binary(_POW, children)

    def neg(self, children) -> _Ref:
        minus, operand = children
        nodes = self.graph.nodes
        target = nodes[operand.node]
        # A minus sign written on a literal is part of the number: -3 is one const node.
        if target.op.name == "const" and operand.node == len(nodes) - 1 and target.span == (operand.start, operand.end):
            if self.graph.source[operand.start].isdigit() or self.graph.source[operand.start] == ".":
                target.constant = -target.constant
                target.span = (minus.start_pos, operand.end)
                return _Ref(operand.node, minus.start_pos, operand.end)
        return _Ref(self._add("neg", (operand.node,), minus.start_pos, operand.end), minus.start_pos, operand.end)

    def pos(self, children) -> _Ref:
        plus, operand = children
        return _Ref(operand.node, plus.start_pos, operand.end)  # unary plus changes nothing

    def call(self, children) -> _Ref:
        token, *args, rpar = children
        name = token.value
        op = FUNCTIONS.get(name)
        if op is None:
            close = closest(name, FUNCTIONS)
            hint = f"did you mean {close}?" if close else "the functions are: " + ", ".join(FUNCTIONS)
            raise self._error(UnknownNameError, f"unknown function `{name}`", token.start_pos, token.end_pos, hint)
        if not op.accepts(len(args)):
            raise self._error(
                ArityError,
                f"{name} takes {op.arity_text()}, but {len(args)} were given",
                token.start_pos,
                rpar.end_pos,
                hint=op.summary or None,
            )
        node = self._add(name, tuple([a.node for a in args]), token.start_pos, rpar.end_pos)
        return _Ref(node, token.start_pos, rpar.end_pos)

    # -- statements --------------------------------------------------------------

    def assign(self, children) -> int:
        target, _equal, value = children
        self._check_target(target)
        node = self.graph.nodes[value.node]
        if node.name is None and node.op.name != "input":
            node.name = target.value  # label the node the expression built
            return self._bind(target, value.node)
        # The value already has a name (b = a): a new node keeps both visible.
        copy = self._add("id", (value.node,), value.start, value.end, name=target.value)
        return self._bind(target, copy)

    def augassign(self, children) -> int:
        target, operator, value = children
        self._check_target(target)
        current = self._lookup(target)
        node = self._add(
            _AUGMENTED_OPS[operator.value], (current, value.node), target.start_pos, value.end, name=target.value
        )
        return self._bind(target, node)

    def expr_stmt(self, children) -> int:
        self.last_statement = children[0].node
        return self.last_statement


_standalone = None  # the Lark standalone parser module, loaded on the first parse
_plugins: dict = {}


def _parser_module():
    global _standalone
    if _standalone is None:
        from . import lalr

        with open(grammar_path(), encoding="utf-8") as file:
            _standalone = lalr.load(file.read())
        _plugins["BasicLexer"] = lalr.token_stream_lexer(_standalone)
    return _standalone


def parse(source: str) -> Graph:
    """Parse a program into a graph whose output is the last statement's value."""
    standalone = _parser_module()
    builder = _Builder(source)
    try:
        standalone.Lark_StandAlone(transformer=builder, _plugins=_plugins).parse(source)
    except standalone.UnexpectedInput as exc:
        from .syntax import syntax_error

        raise syntax_error(source, exc, standalone.UnexpectedCharacters) from None
    if builder.last_statement is None:
        raise ProgramSyntaxError(
            "the program is empty",
            span=(0, len(source)),
            source=source,
            hint='write an expression, e.g. "(a+b)*(b+1)"',
        )
    builder.graph.output = builder.last_statement
    return builder.graph
