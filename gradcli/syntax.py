"""Turning Lark's parse errors into plain-word syntax errors.

Users never see Lark's terminal names: what was found and what was expected
are said in words, an unclosed '(' is pointed at where it opens, and the
expected set is narrowed by the brackets actually open at the error.
"""

from __future__ import annotations

import re

from .errors import ProgramSyntaxError

_OPERAND_START = {"NUMBER", "NAME", "LPAR", "MINUS", "PLUS"}
_BINARY_OPERATORS = {"STAR", "SLASH", "POW"}
_STATEMENT_END = {"$END", "SEP"}


def _open_brackets(source: str, stop: int) -> list[int]:
    """Offsets of the '(' still open at `stop`, innermost last (comments skipped)."""
    stack: list[int] = []
    index = 0
    while index < stop:
        char = source[index]
        if char == "#":
            newline = source.find("\n", index)
            index = stop if newline == -1 else newline
            continue
        if char == "(":
            stack.append(index)
        elif char == ")" and stack:
            stack.pop()
        elif char in ";\n":
            stack.clear()  # a statement boundary; the parser reports the rest
        index += 1
    return stack


def _describe_found(token_type: str, value: str) -> str:
    if token_type == "$END":
        return "end of the program"
    if token_type == "SEP":
        return "end of the line" if value == "\n" else "';'"
    if token_type == "NUMBER":
        return f"number {value}"
    if token_type == "NAME":
        return f"name `{value}`"
    return f"'{value}'"


def _describe_expected(expected: set[str], in_call: bool, open_count: int) -> str:
    parts = []
    if expected & {"NUMBER", "NAME"}:
        parts.append("a number, a name or '('")
    if expected & _BINARY_OPERATORS:
        parts.append("an operator (+ - * / ^)")
    if "EQUAL" in expected or "AUGOP" in expected:
        parts.append("'=' or '+=' '-=' '*=' '/='")
    if "COMMA" in expected and in_call:
        parts.append("','")
    if "RPAR" in expected and open_count:
        parts.append("')'")
    if expected & _STATEMENT_END and not open_count:
        parts.append("the end of the statement")
    if not parts:
        return "something else"
    return ", ".join(parts[:-1]) + (" or " if len(parts) > 1 else "") + parts[-1]


def syntax_error(source: str, exc, unexpected_characters: type) -> ProgramSyntaxError:
    """A ProgramSyntaxError for one of Lark's UnexpectedInput exceptions.

    `unexpected_characters` is the lexer's error class of the Lark runtime that
    raised `exc` (the standalone parser defines its own copy of Lark's classes).
    """
    if isinstance(exc, unexpected_characters):
        position = exc.pos_in_stream
        char = source[position]
        return ProgramSyntaxError(
            f"unexpected character {char!r}",
            span=(position, position + 1),
            source=source,
            hint="programs use numbers, names, + - * / ^ **, parentheses, commas, = and function calls",
        )

    token = getattr(exc, "token", None)
    token_type = getattr(token, "type", "$END")
    value = token.value if token is not None else ""
    if token_type == "$END":
        position = len(source.rstrip())
        end = position + 1
    else:
        position = token.start_pos
        end = token.end_pos
    open_brackets = _open_brackets(source, position)

    if token_type in _STATEMENT_END and open_brackets:
        opening = open_brackets[-1]
        return ProgramSyntaxError(
            "this '(' is never closed",
            span=(opening, opening + 1),
            source=source,
            hint="add the matching ')'",
        )
    if token_type == "RPAR" and not open_brackets:
        return ProgramSyntaxError(
            "unmatched ')'",
            span=(position, end),
            source=source,
            hint="remove it, or add the '(' it should close",
        )

    expected = set(getattr(exc, "expected", None) or ())
    in_call = bool(open_brackets) and _names_call(source, open_brackets[-1])
    message = (
        f"unexpected {_describe_found(token_type, value)}; "
        f"expected {_describe_expected(expected, in_call, len(open_brackets))}"
    )
    if token_type in _OPERAND_START and expected & _BINARY_OPERATORS:
        hint = "put an operator between two values: write 2*x, not 2x or 2 x"
    elif token_type in _STATEMENT_END or token_type == "RPAR":
        hint = "complete the expression"
    else:
        hint = None
    statement = source[max(source.rfind(";", 0, position), source.rfind("\n", 0, position)) + 1 : position]
    if _SIGNED_OUT.match(statement):
        # `out` is a keyword only before an operand: `out -x, y` is `out - x` and then a stray comma.
        hint = "`out -x` subtracts x from a variable called out; to list outputs, write `out (-x), y`"
    return ProgramSyntaxError(message, span=(position, end), source=source, hint=hint)


_SIGNED_OUT = re.compile(r"[ \t]*out[ \t]+[-+]")


def _names_call(source: str, paren: int) -> bool:
    """Whether the '(' at `paren` opens a function call (a name right before it)."""
    index = paren - 1
    while index >= 0 and source[index] in " \t":
        index -= 1
    return index >= 0 and (source[index].isalnum() or source[index] == "_")
