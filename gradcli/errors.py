"""The error hierarchy: errors are data (a message, a source span, a hint).

The core raises these; only the CLI formats them (caret under the column,
did-you-mean) and maps them to exit codes. Every class carries a short `kind`
that also appears in JSON output as `error.type`.
"""

from __future__ import annotations

# Exit codes, documented in the CLI's --help and in the README.
EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_CANNOT_COMPUTE = 2
EXIT_INTERNAL = 3


class GradcliError(Exception):
    """Something in the user's input that gradcli cannot compute (exit 2).

    `span` is a (start, end) pair of character offsets into `source`, the text
    the error is about (the program, or a file of claims); `hint` says how to
    fix it. `node` is the id of the graph node concerned, where there is one.
    """

    kind = "error"
    exit_code = EXIT_CANNOT_COMPUTE

    def __init__(
        self,
        message: str,
        *,
        span: tuple[int, int] | None = None,
        source: str | None = None,
        hint: str | None = None,
        node: int | None = None,
        details: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.span = span
        self.source = source
        self.hint = hint
        self.node = node
        self.details = details or {}


class ProgramSyntaxError(GradcliError):
    kind = "syntax"


class UnknownNameError(GradcliError):
    """An unknown function, a function used as a value, a bad assignment target."""

    kind = "name"


class ArityError(GradcliError):
    kind = "arity"


class BindingError(GradcliError):
    """Values given for the program's inputs: missing, malformed, non-finite."""

    kind = "binding"


class DomainError(GradcliError):
    """An op applied outside its domain at this point (log(0), sqrt(-1), 1/0)."""

    kind = "domain"


class NonFiniteError(GradcliError):
    """A node became infinite or NaN from finite inputs (exp(1000))."""

    kind = "overflow"


class RowError(GradcliError):
    """A point of `eval --points` that cannot be evaluated, with where it came from (--on-error stop)."""

    kind = "row"


class ToolError(GradcliError):
    """An external program gradcli needs (Graphviz's dot) is missing or failed."""

    kind = "tool"


class InputError(GradcliError):
    """A file or stream that cannot be read, or options that do not fit."""

    kind = "input"


class ProgramTooLargeError(InputError):
    """A program beyond gradcli's size limits (README, "Limits"); the message says how to raise them."""


def line_col(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


def closest(name: str, candidates, cutoff: float = 0.6) -> str | None:
    """The candidate most like `name`, for "did you mean" hints (difflib loads only on an error)."""
    import difflib

    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return matches[0] if matches else None
