"""Loading the parser (gradcli.lalr): the cached standalone parser and gradcli's lexer.

The cache must never change what is parsed: a changed grammar, a corrupt or
unwritable cache all still give the parser of the grammar as it is now. The
lexer gradcli installs must produce exactly the tokens Lark's own lexer does.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

import gradcli
from gradcli import lalr
from gradcli.errors import ProgramSyntaxError
from gradcli.parser import grammar_path

GRAMMAR = open(grammar_path(), encoding="utf-8").read()


def parses(module, text: str) -> bool:
    try:
        module.Lark_StandAlone().parse(text)
    except module.UnexpectedInput:
        return False
    return True


def test_first_load_writes_the_cache_and_the_second_reads_it(tmp_path):
    first = lalr.load(GRAMMAR, str(tmp_path))
    path = lalr.cache_path(str(tmp_path))
    assert os.path.isfile(path)
    stamp = os.stat(path).st_mtime_ns
    second = lalr.load(GRAMMAR, str(tmp_path))
    assert os.stat(path).st_mtime_ns == stamp  # read, not rewritten
    assert parses(first, "y = (a+b)*(b+1)") and parses(second, "y = (a+b)*(b+1)")
    assert not parses(second, "a +* b")


def test_a_changed_grammar_regenerates_the_parser(tmp_path):
    lalr.load(GRAMMAR, str(tmp_path))
    # The same cache file, a grammar in which '%' is a binary operator.
    modulo = GRAMMAR.replace('| product SLASH factor  -> div', '| product SLASH factor  -> div\n        | product "%" factor    -> div')
    assert modulo != GRAMMAR
    changed = lalr.load(modulo, str(tmp_path))
    assert parses(changed, "a % b")
    original = lalr.load(GRAMMAR, str(tmp_path))
    assert not parses(original, "a % b")


@pytest.mark.parametrize("content", [b"", b"garbage", b"\x00" * 64, b"\xe3" + b"\x01" * 10])
def test_a_corrupt_cache_is_regenerated(tmp_path, content):
    path = lalr.cache_path(str(tmp_path))
    with open(path, "wb") as file:
        file.write(content)
    module = lalr.load(GRAMMAR, str(tmp_path))
    assert parses(module, "sin(x)^2")
    assert os.path.getsize(path) > 1000  # rewritten with a real parser


def test_an_unusable_cache_directory_still_parses(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    module = lalr.load(GRAMMAR, str(blocker / "cache"))  # cannot be created
    assert parses(module, "x + 1")
    assert list(tmp_path.iterdir()) == [blocker]  # no temporary file left behind


def test_cache_directory_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADCLI_CACHE_DIR", str(tmp_path / "explicit"))
    assert lalr.cache_dir() == str(tmp_path / "explicit")
    monkeypatch.delenv("GRADCLI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert lalr.cache_dir() == os.path.join(str(tmp_path / "xdg"), "gradcli")


def test_eval_with_a_warm_cache_imports_neither_lark_nor_rich(tmp_path):
    """The start-up budget of `gradcli eval --json` depends on this (see bench/)."""
    env = dict(os.environ, GRADCLI_CACHE_DIR=str(tmp_path))
    probe = (
        "import sys, io, contextlib\n"
        "from gradcli.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = main(['eval', '(a+b)*(b+1)', 'a=2', 'b=1', '--json'])\n"
        "print(code, '\"value\":6' in out.getvalue(), sorted(m for m in sys.modules if m.split('.')[0] in ('lark', 'rich')))\n"
    )
    cold = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert cold.stdout.split()[:2] == ["0", "True"]  # the first run generates the parser with Lark
    warm = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert warm.stdout.strip() == "0 True []"


# -- the lexer --------------------------------------------------------------------------

_PIECES = [
    "x", "y1", "_t", "pi", "e", "2", "2.5", ".5", "1e-3", "2.5E+10", "7.", "+", "-", "*", "/", "^", "**",
    "(", ")", ",", "=", "+=", "-=", "*=", "/=", ";", "\n", " ", "\t", "  ", "# note\n", "\\\n", "sin", "max",
]


def _token_fields(tokens):
    return [(t.type, t.value, t.start_pos, t.end_pos) for t in tokens]


def _lex(module, lexer_class, text):
    """Every token's fields, or where lexing failed."""
    conf = module.Lark_StandAlone().lexer_conf
    state = module.LexerState(module.TextSlice.cast_from(text))
    try:
        return _token_fields(lexer_class(conf).lex(state, None))
    except module.UnexpectedCharacters as exc:
        return ("unexpected character at", exc.pos_in_stream, exc.line, exc.column)


@pytest.mark.parametrize("seed", range(200))
def test_lexer_gives_the_tokens_larks_lexer_gives(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(_PIECES) for _ in range(rng.randrange(1, 60)))
    module = gradcli.parser._parser_module()
    ours = _lex(module, gradcli.parser._plugins["BasicLexer"], text)
    lark = _lex(module, module.BasicLexer, text)
    assert ours == lark


@pytest.mark.parametrize("text, position", [("a $ b", 2), ("x = 1\ny = @", 10), ("sin(x) ? 2", 7), ("é", 0)])
def test_lexer_error_points_at_the_character(text, position):
    with pytest.raises(ProgramSyntaxError) as info:
        gradcli.parse(text)
    assert info.value.span == (position, position + 1)
    assert "unexpected character" in str(info.value)
