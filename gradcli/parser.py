"""Grammar loading and the graph-building transformer.

Lark's LALR parser calls the `_Builder` methods at every reduction, in
post-order, so nodes are appended to the graph in topological order while
the text is parsed: no parse tree, no recursion. Each expression callback
returns a ref, the tuple (node, start, end): the node an expression evaluates
to and the source span of that expression (parentheses included), which may
differ from the node's own span. (Plain tuples: a parse of 10^5 nodes builds
about 2 x 10^5 of them, and a tuple is the cheapest object Python builds.)
"""

from __future__ import annotations

import os
from functools import partialmethod
from operator import itemgetter

from .errors import ArityError, InputError, ProgramSyntaxError, ProgramTooLargeError, UnknownNameError, closest
from .graph import Graph, Node, bulk_allocation
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


# -- size limits (README, "Limits") ------------------------------------------------
#
# A program beyond these is refused with a ProgramTooLargeError before it costs
# minutes or gigabytes: its length before parsing starts, its node count while
# the graph is built. An environment variable raises each. Parsing and
# evaluating 2,000,000 nodes takes about 20 s and 0.8 GB (bench/README.md).
MAX_NODES = 2_000_000
MAX_NODES_VARIABLE = "GRADCLI_MAX_NODES"
MAX_SOURCE_CHARS = 50_000_000
MAX_SOURCE_CHARS_VARIABLE = "GRADCLI_MAX_SOURCE_CHARS"


def _limit(variable: str, default: int) -> int:
    """The limit the environment variable sets, else the default."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(
            f"{variable}={text!r} is not a limit: it must be a whole number above 0",
            hint=f"e.g. {variable}={2 * default}, or unset it for the default, {default:,}",
            details={"variable": variable},
        )
    return value


def _too_large(message: str, size: int, limit: int, variable: str, details: dict, **location) -> ProgramTooLargeError:
    suggested = max(2 * limit, int(float(f"{size * 1.2:.1e}")))  # room to spare, in round numbers
    return ProgramTooLargeError(
        f"the program is too large: {message}",
        hint=f"split the program, or raise the limit with the environment variable {variable}, "
        f"e.g. {variable}={suggested}",
        details={**details, "limit": limit, "variable": variable},
        **location,
    )


# The one output of a program without `out` is called by its name, or its text
# shortened to this (a generated program's last expression can be megabytes).
OUTPUT_LABEL_LIMIT = 80

_AUGMENTED_OPS = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}
_ADD, _SUB, _MUL, _DIV, _POW = (OPS[name] for name in ("add", "sub", "mul", "div", "pow"))


class _Builder:
    """Lark transformer callbacks; one instance builds one graph.

    Tokens have a type, a value, a start_pos and an end_pos (gradcli.lalr.Token).
    """

    def __init__(self, source: str, max_nodes: int):
        self.graph = Graph(source)
        self.nodes = self.graph.nodes
        self.scope: dict[str, int] = {}  # names assigned so far -> node id
        self.last_statement: int | None = None
        self.out_statement: tuple[int, int] | None = None  # the span of `out ...`, once seen
        self.max_nodes = max_nodes
        # The functions of one argument, for the common call; built per parse, not
        # at import, so that a patched op table (the tests patch it) is the one used.
        self.unary_functions = {name: op for name, op in FUNCTIONS.items() if op.accepts(1)}

    # -- helpers -----------------------------------------------------------------

    # These run once per node of programs with 10^5 nodes and more: positional
    # arguments only, op entries looked up once, the size limit checked here.
    def _add(self, op: Op, args: tuple[int, ...], start: int, end: int, name=None, constant=None) -> int:
        node_id = len(self.nodes)
        if node_id == self.max_nodes:
            raise self._too_large(start, end)
        self.nodes.append(Node(node_id, op, args, (start, end), name, constant))
        return node_id

    def _binary(self, op: Op, children) -> tuple:
        (left, start, _), _operator, (right, _, end) = children
        node_id = len(self.nodes)
        if node_id == self.max_nodes:
            raise self._too_large(start, end)
        self.nodes.append(Node(node_id, op, (left, right), (start, end)))
        return node_id, start, end

    def _too_large(self, start: int, end: int) -> ProgramTooLargeError:
        """The node from start to end would be one too many: stop, and estimate the total."""
        source = self.graph.source
        estimate = int(self.max_nodes * len(source) / max(end, 1))
        return _too_large(
            f"more than the limit of {self.max_nodes:,} nodes (about {float(f'{estimate:.2g}'):,.0f} "
            "in all, judging by the part up to the node marked below)",
            estimate, self.max_nodes, MAX_NODES_VARIABLE, {"unit": "nodes", "estimated_size": estimate},
            span=(start, end), source=source,
        )

    def _error(self, cls, message: str, start: int, end: int, hint: str | None = None):
        return cls(message, span=(start, end), source=self.graph.source, hint=hint)

    def _lookup(self, token) -> int:
        """The node a name means at this point of the program."""
        node = self.scope.get(token.value)
        return node if node is not None else self._unassigned(token)

    def _unassigned(self, token) -> int:
        """A name not assigned (yet): a constant, an input, or a mistake."""
        name = token.value
        if name in CONSTANTS:
            return self._add(OPS["const"], (), token.start_pos, token.end_pos, None, CONSTANTS[name])
        if name in FUNCTIONS:
            raise self._error(
                UnknownNameError,
                f"`{name}` is a function, not a value",
                token.start_pos,
                token.end_pos,
                hint=f"call it with an argument, as in {name}(x)",
            )
        inputs = self.graph.inputs
        if name not in inputs:
            inputs[name] = self._add(OPS["input"], (), token.start_pos, token.end_pos, name)
        return inputs[name]

    def _check_target(self, token) -> None:
        if token.value in FUNCTIONS:
            raise self._error(
                UnknownNameError,
                f"cannot assign to `{token.value}`: it is the name of a function",
                token.start_pos,
                token.end_pos,
                hint="choose another name for the variable",
            )

    def _after_out(self, start: int, end: int) -> None:
        """A statement after `out`: refused, since nothing after it could reach an output."""
        raise self._error(
            ProgramSyntaxError, "a statement after `out`: `out` must be the program's last statement",
            start, end, hint="move the `out` statement to the end of the program",
        )

    def _bind(self, token, node_id: int) -> int:
        if self.out_statement is not None:
            self._after_out(token.start_pos, token.end_pos)
        self.scope[token.value] = node_id
        self.last_statement = node_id
        return node_id

    # -- expressions ---------------------------------------------------------------

    # An operand moving up a precedence level (expr: product): the ref as it is.
    # A C function, not a method: these are a third of all reductions.
    same = itemgetter(0)

    def number(self, children) -> tuple:
        token = children[0]
        start, end = token.start_pos, token.end_pos
        return self._add(OPS["const"], (), start, end, None, float(token.value)), start, end

    def name(self, children) -> tuple:
        token = children[0]
        node = self.scope.get(token.value)  # _lookup's common case, inline
        if node is None:
            node = self._unassigned(token)
        return node, token.start_pos, token.end_pos

    def group(self, children) -> tuple:
        lpar, (inner, _, _), rpar = children
        return inner, lpar.start_pos, rpar.end_pos

    # One Python frame per operator node, not two: Lark calls the partial (a C object).
    add = partialmethod(_binary, _ADD)
    sub = partialmethod(_binary, _SUB)
    mul = partialmethod(_binary, _MUL)
    div = partialmethod(_binary, _DIV)
    pow = partialmethod(_binary, _POW)

    def neg(self, children) -> tuple:
        minus, (operand, start, end) = children
        nodes = self.nodes
        target = nodes[operand]
        # A minus sign written on a literal is part of the number: -3 is one const node.
        if target.op.name == "const" and operand == len(nodes) - 1 and target.span == (start, end):
            first = self.graph.source[start]
            if first.isdigit() or first == ".":
                target.constant = -target.constant
                target.span = (minus.start_pos, end)
                return operand, minus.start_pos, end
        return self._add(OPS["neg"], (operand,), minus.start_pos, end), minus.start_pos, end

    def pos(self, children) -> tuple:
        plus, (operand, _, end) = children
        return operand, plus.start_pos, end  # unary plus changes nothing

    def call(self, children) -> tuple:
        # NAME LPAR expr (COMMA expr)* RPAR: the arguments are every other child.
        token, rpar = children[0], children[-1]
        start, end = token.start_pos, rpar.end_pos
        if len(children) == 4:
            op = self.unary_functions.get(token.value)
            if op is not None:  # the common case: a function of one argument
                return self._add(op, (children[2][0],), start, end), start, end
        args = children[2:-1:2]
        name = token.value
        op = FUNCTIONS.get(name)
        if op is None:
            close = closest(name, FUNCTIONS)
            hint = f"did you mean {close}?" if close else "the functions are: " + ", ".join(FUNCTIONS)
            raise self._error(UnknownNameError, f"unknown function `{name}`", start, token.end_pos, hint)
        if not op.accepts(len(args)):
            raise self._error(
                ArityError, f"{name} takes {op.arity_text()}, but {len(args)} were given", start, end,
                hint=op.summary or None,
            )
        return self._add(op, tuple([arg[0] for arg in args]), start, end), start, end

    # -- statements --------------------------------------------------------------

    def assign(self, children) -> int:
        target, _equal, (value, start, end) = children
        self._check_target(target)
        node = self.nodes[value]
        if node.name is None and node.op.name != "input":
            node.name = target.value  # label the node the expression built
            return self._bind(target, value)
        # The value already has a name (b = a): a new node keeps both visible.
        copy = self._add(OPS["id"], (value,), start, end, target.value)
        return self._bind(target, copy)

    def augassign(self, children) -> int:
        target, operator, (value, _, end) = children
        self._check_target(target)
        current = self._lookup(target)
        node = self._add(OPS[_AUGMENTED_OPS[operator.value]], (current, value), target.start_pos, end, target.value)
        return self._bind(target, node)

    def expr_stmt(self, children) -> int:
        node, start, end = children[0]
        if self.out_statement is not None:
            self._after_out(start, end)
        self.last_statement = node
        return node

    def out(self, children) -> None:
        # OUT expr (COMMA expr)*: the expressions are every other child.
        keyword, refs = children[0], children[1::2]
        end = refs[-1][2]
        if self.out_statement is not None:
            self._after_out(keyword.start_pos, end)
        self.out_statement = (keyword.start_pos, end)
        graph = self.graph
        labels: dict[str, int] = {}
        for node, start, stop in refs:
            label = graph.source[start:stop]
            if label in labels:
                raise self._error(
                    ProgramSyntaxError, f"the output `{label}` is listed twice", start, stop,
                    hint="list each output once",
                )
            labels[label] = node
        graph.outputs = list(labels.values())
        graph.output_labels = list(labels)
        self.last_statement = graph.outputs[0]

    def statements(self, children) -> None:
        """The statements have done their work (the builder keeps the last one's node)."""


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
    """Parse a program into a graph whose outputs are those of its `out` statement, or
    else the one output, the last statement's value.

    Raises ProgramTooLargeError when the source or the graph exceeds its limit,
    as soon as that is known.
    """
    max_chars = _limit(MAX_SOURCE_CHARS_VARIABLE, MAX_SOURCE_CHARS)
    if len(source) > max_chars:
        raise _too_large(
            f"{len(source):,} characters, more than the limit of {max_chars:,}",
            len(source), max_chars, MAX_SOURCE_CHARS_VARIABLE, {"unit": "characters", "size": len(source)},
        )
    standalone = _parser_module()
    builder = _Builder(source, _limit(MAX_NODES_VARIABLE, MAX_NODES))
    try:
        with bulk_allocation():
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
    graph = builder.graph
    if builder.out_statement is None:  # the last statement's value is the one output
        graph.outputs = [builder.last_statement]
        graph.output_labels = [graph.label(graph.nodes[builder.last_statement], OUTPUT_LABEL_LIMIT)]
    graph.output = graph.outputs[0]
    return graph
