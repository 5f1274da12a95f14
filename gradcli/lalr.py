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
import sys
import types

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
    """A drop-in for the standalone module's BasicLexer that tokenises about twice as fast.

    Lark's lexer keeps line and column numbers for every token and builds each
    token through a general constructor; gradcli's errors need only character
    offsets (line and column come from `errors.line_col` when an error is
    shown). This lexer uses Lark's own scanner (the same regular expression,
    terminal order and callbacks) and sets only the token fields that the
    parser and gradcli read. It is installed through Lark's `_plugins` option,
    the hook Lark provides for replacing its lexer.
    """
    Token = standalone.Token
    make_str = str.__new__

    class TokenStreamLexer(standalone.BasicLexer):
        def lex(self, state, parser_state):
            scanner = self.scanner  # built on first use, with self.callback
            if len(scanner._mres) != 1:  # a grammar too big for one regex: Lark's own loop
                yield from super().lex(state, parser_state)
                return
            match = scanner._mres[0].match
            ignore = self.ignore_types
            callbacks = self.callback
            text, position, end = state.text.text, state.text.start, state.text.end
            while position < end:
                found = match(text, position, end)
                if found is None:
                    raise self._unexpected(text, position, parser_state)
                kind = found.lastgroup
                stop = found.end()
                if kind not in ignore:
                    value = found.group()
                    token = make_str(Token, value)
                    token.type = kind
                    token.value = value
                    token.start_pos = position
                    token.end_pos = stop
                    token.line = token.column = token.end_line = token.end_column = None
                    yield callbacks[kind](token) if kind in callbacks else token
                position = stop

        def _unexpected(self, text: str, position: int, parser_state):
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            return standalone.UnexpectedCharacters(
                text, position, line, column, state=parser_state, terminals_by_name=self.terminals_by_name
            )

    return TokenStreamLexer


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
