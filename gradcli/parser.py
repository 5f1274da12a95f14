"""Grammar loading and the graph-building transformer.

Lark's LALR parser calls the `_Builder` methods at every reduction, in
post-order, so nodes are appended to the graph in topological order while
the text is parsed: no parse tree, no recursion. Each callback returns a
`_Ref`: the node an expression evaluates to and the source span of that
expression (parentheses included), which may differ from the node's own span.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import NamedTuple

from .errors import ArityError, ProgramSyntaxError, UnknownNameError
from .graph import Graph, Node
from .ops import CONSTANTS, FUNCTIONS, OPS

_HERE = Path(__file__).resolve().parent
# The wheel carries the grammar inside the package; a checkout or an editable
# install finds it at the top of the repository.
_GRAMMAR_CANDIDATES = (_HERE / "grammar" / "gradcli.lark", _HERE.parent / "grammar" / "gradcli.lark")


def grammar_path() -> Path:
    for candidate in _GRAMMAR_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("gradcli.lark not found; the installation is incomplete")


class _Ref(NamedTuple):
    node: int
    start: int
    end: int


_AUGMENTED_OPS = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}


class _Builder:
    """Lark transformer callbacks; one instance builds one graph."""

    def __init__(self, source: str):
        self.graph = Graph(source)
        self.scope: dict[str, int] = {}  # names assigned so far -> node id
        self.last_statement: int | None = None

    # -- helpers -----------------------------------------------------------------

    def _add(self, op_name: str, args: tuple[int, ...], start: int, end: int, **fields) -> int:
        node_id = len(self.graph.nodes)
        self.graph.nodes.append(Node(node_id, OPS[op_name], args, (start, end), **fields))
        return node_id

    def _binary(self, op_name: str, children) -> _Ref:
        left, right = children[0], children[-1]
        return _Ref(self._add(op_name, (left.node, right.node), left.start, right.end), left.start, right.end)

    def _error(self, cls, message: str, start: int, end: int, hint: str | None = None):
        return cls(message, span=(start, end), source=self.graph.source, hint=hint)

    def _lookup(self, token) -> int:
        """The node a name means at this point of the program."""
        name = str(token)
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
        if str(token) in FUNCTIONS:
            raise self._error(
                UnknownNameError,
                f"cannot assign to `{token}`: it is the name of a function",
                token.start_pos,
                token.end_pos,
                hint="choose another name for the variable",
            )

    def _bind(self, token, node_id: int) -> int:
        self.scope[str(token)] = node_id
        self.last_statement = node_id
        return node_id

    # -- expressions ---------------------------------------------------------------

    def number(self, children) -> _Ref:
        token = children[0]
        node = self._add("const", (), token.start_pos, token.end_pos, constant=float(token))
        return _Ref(node, token.start_pos, token.end_pos)

    def name(self, children) -> _Ref:
        token = children[0]
        return _Ref(self._lookup(token), token.start_pos, token.end_pos)

    def group(self, children) -> _Ref:
        lpar, inner, rpar = children
        return _Ref(inner.node, lpar.start_pos, rpar.end_pos)

    def add(self, children) -> _Ref:
        return self._binary("add", children)

    def sub(self, children) -> _Ref:
        return self._binary("sub", children)

    def mul(self, children) -> _Ref:
        return self._binary("mul", children)

    def div(self, children) -> _Ref:
        return self._binary("div", children)

    def pow(self, children) -> _Ref:
        return self._binary("pow", children)

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
        name = str(token)
        op = FUNCTIONS.get(name)
        if op is None:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            hint = f"did you mean {close[0]}?" if close else "the functions are: " + ", ".join(FUNCTIONS)
            raise self._error(UnknownNameError, f"unknown function `{name}`", token.start_pos, token.end_pos, hint)
        if not op.accepts(len(args)):
            raise self._error(
                ArityError,
                f"{name} takes {op.arity_text()}, but {len(args)} were given",
                token.start_pos,
                rpar.end_pos,
                hint=op.summary or None,
            )
        node = self._add(name, tuple(a.node for a in args), token.start_pos, rpar.end_pos)
        return _Ref(node, token.start_pos, rpar.end_pos)

    # -- statements --------------------------------------------------------------

    def assign(self, children) -> int:
        target, value = children
        self._check_target(target)
        node = self.graph.nodes[value.node]
        if node.name is None and node.op.name != "input":
            node.name = str(target)  # label the node the expression built
            return self._bind(target, value.node)
        # The value already has a name (b = a): a new node keeps both visible.
        copy = self._add("id", (value.node,), value.start, value.end, name=str(target))
        return self._bind(target, copy)

    def augassign(self, children) -> int:
        target, operator, value = children
        self._check_target(target)
        current = self._lookup(target)
        node = self._add(
            _AUGMENTED_OPS[str(operator)], (current, value.node), target.start_pos, value.end, name=str(target)
        )
        return self._bind(target, node)

    def expr_stmt(self, children) -> int:
        self.last_statement = children[0].node
        return self.last_statement




def _lark(builder: _Builder):
    from lark import Lark

    grammar = grammar_path().read_text(encoding="utf-8")
    # cache=True stores the analysed grammar in the temp directory: about 1 ms
    # to load instead of 20-30 ms to build.
    return Lark(grammar, parser="lalr", lexer="basic", transformer=builder, cache=True)


def parse(source: str) -> Graph:
    """Parse a program into a graph whose output is the last statement's value."""
    from lark.exceptions import UnexpectedInput

    builder = _Builder(source)
    try:
        _lark(builder).parse(source)
    except UnexpectedInput as exc:
        from .syntax import syntax_error

        raise syntax_error(source, exc) from None
    if builder.last_statement is None:
        raise ProgramSyntaxError(
            "the program is empty",
            span=(0, len(source)),
            source=source,
            hint='write an expression, e.g. "(a+b)*(b+1)"',
        )
    builder.graph.output = builder.last_statement
    return builder.graph
