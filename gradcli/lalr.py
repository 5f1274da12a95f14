"""Lark's LALR parser for gradcli's grammar, loaded in a few milliseconds.

`import lark` loads Lark's grammar compiler even when the analysed grammar
comes from Lark's own cache: about 20 ms, a quarter of a whole `gradcli eval`.
Lark's standalone generator (`lark.tools.standalone`) writes the same parser,
Lark's runtime and the analysed tables, as one module that needs no compiler.
gradcli generates that module from the grammar the first time it parses,
keeps it compiled in the user's cache directory, and afterwards executes it
from there without importing `lark` at all.

The cache file holds the grammar text it was generated from, so any change
to the grammar regenerates it; a missing, stale, corrupt or unwritable cache
costs only the time to regenerate (about half a second), never a failure.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
import types
from typing import NamedTuple

# Bump when the file layout below changes.
_FORMAT = 3
_MODULE_NAME = "gradcli._lark_standalone"


def cache_dir() -> str:
    """Where the generated parser is kept: $GRADCLI_CACHE_DIR, else the XDG cache directory."""
    explicit = os.environ.get("GRADCLI_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gradcli")


def cache_path(directory: str | None = None) -> str:
    # marshal's format is specific to the interpreter, hence the cache tag.
    tag = sys.implementation.cache_tag or "python"
    return os.path.join(directory or cache_dir(), f"lalr-parser-{_FORMAT}.{tag}.bin")


def load(grammar: str, directory: str | None = None) -> types.ModuleType:
    """The standalone parser module for `grammar`: its `Lark_StandAlone(**options)` builds a parser."""
    path = cache_path(directory)
    code = _read(path, grammar)
    if code is None:
        # optimize=1 drops the runtime's internal asserts, as `python -O` would: one
        # of them compares every parser action with a Python-level __eq__ (15% of a parse).
        code = compile(_generate(grammar), "<gradcli: Lark standalone parser>", "exec", optimize=1)
        _write(path, grammar, code)
    module = types.ModuleType(_MODULE_NAME)
    # Lark's standalone code defines dataclasses, which look their module up in sys.modules.
    sys.modules[_MODULE_NAME] = module
    exec(code, module.__dict__)
    return module


def token_stream_lexer(standalone: types.ModuleType) -> type:
    """A drop-in for the standalone module's BasicLexer: the same tokens, made cheaply.

    Lark's lexer keeps line and column numbers for every token and builds each
    token, a `str` subclass, through a general constructor; gradcli's parser
    and errors need only the type, the text and the character offsets (line
    and column come from `errors.line_col` when an error is shown). This lexer
    matches the grammar's terminals in Lark's order with one regular expression
    and makes each token a `Token` tuple, built in C (a parse of 10^5 nodes reads
    about 2.5 x 10^5 tokens). It is installed through Lark's `_plugins` option,
    the hook Lark provides for replacing its lexer.
    """

    class TokenStreamLexer(standalone.BasicLexer):
        def lex(self, state, parser_state):
            if len(self.scanner._mres) != 1 or self.callback:
                # A grammar too big for one regex, or with keywords carved out of a
                # terminal (Lark retypes those tokens in place): Lark's own lexer.
                yield from super().lex(state, parser_state)
                return
            match, skip, terminal_names = _patterns(self.terminals, self.ignore_types, self.g_regex_flags)
            new = tuple.__new__
            text, position, end = state.text.text, state.text.start, state.text.end
            while found := match(text, position, end):
                group = found.lastindex  # the token's terminal
                start, position = found.span(group)
                yield new(Token, (terminal_names[group], found.group(group), start, position))
            # Only ignored text (blanks, comments) may follow the last token.
            position = skip(text, position, end).end()
            if position < end:
                raise self._unexpected(text, position, parser_state)

        def _unexpected(self, text: str, position: int, parser_state):
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            return standalone.UnexpectedCharacters(
                text, position, line, column, state=parser_state, terminals_by_name=self.terminals_by_name
            )

    return TokenStreamLexer


class Token(NamedTuple):
    """A token, as Lark's parser and gradcli's callbacks read it (Lark's own is a `str` subclass)."""

    type: str  # the terminal's name
    value: str
    start_pos: int
    end_pos: int
    # Lark reads these when it reports an error; gradcli computes lines itself.
    line = column = end_line = end_column = None


def _patterns(terminals, ignored: frozenset, flags: int):
    """The lexer's regular expressions: `match` skips ignored text and matches one
    token, whose terminal is `names[found.lastindex]`; `skip` skips ignored text alone.

    Skipping all ignored text before trying the terminals in Lark's order gives
    the tokens Lark's scanner gives because no ignored terminal of gradcli's
    grammar can start where a token does (blanks, comments and line
    continuations against names, numbers and operators); tests/test_lalr.py
    compares the two lexers.
    """
    skip = "(?:" + "|".join(t.pattern.to_regexp() for t in terminals if t.name in ignored) + ")*+"
    tokens = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals if t.name not in ignored)
    token = re.compile(skip + "(?:" + tokens + ")", flags)  # re caches the compiled patterns
    names = [""] * (token.groups + 1)
    for name, group in token.groupindex.items():
        names[group] = name
    return token.match, re.compile(skip, flags).match, names


def _read(path: str, grammar: str) -> types.CodeType | None:
    try:
        with open(path, "rb") as file:
            stored_grammar, code = marshal.loads(file.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if stored_grammar != grammar or not isinstance(code, types.CodeType):
        return None
    return code


def _write(path: str, grammar: str, code: types.CodeType) -> None:
    """Store atomically (concurrent runs may race); a read-only home only costs speed."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as file:
            file.write(marshal.dumps((grammar, code)))
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def _generate(grammar: str) -> str:
    from lark import Lark
    from lark.tools.standalone import gen_standalone

    lines: list[str] = []

    def keep(*items) -> None:  # called as print() would be
        text = " ".join(map(str, items))
        # The generator imports pickle, zlib and base64 for its compressed form
        # and Lark's cache files; the plain tables gradcli keeps need none (2-3 ms).
        if text != "import pickle, zlib, base64":
            lines.append(text)

    gen_standalone(Lark(grammar, parser="lalr", lexer="basic"), output=keep)
    return "\n".join(lines) + "\n"
