"""SVG and PNG pictures through Graphviz's `dot`, when it is installed.

gradcli writes DOT itself (render/dot.py); turning it into a picture needs
Graphviz, an optional system program. Without it, the error says how to
install it or how to pipe `--format dot` elsewhere.
"""

from __future__ import annotations

import shutil
import subprocess

from ..errors import ToolError

PICTURE_FORMATS = ("svg", "png")
INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
    "others: https://graphviz.org/download/), or write DOT and render it elsewhere: "
    "gradcli graph ... --format dot > graph.dot"
)


def render_with_dot(dot_text: str, picture_format: str, timeout: float = 120.0) -> bytes:
    """The picture Graphviz's `dot` draws from `dot_text`, as bytes."""
    executable = shutil.which("dot")
    if executable is None:
        raise ToolError(f"cannot draw {picture_format.upper()}: Graphviz's `dot` program is not installed", hint=INSTALL_HINT)
    try:
        done = subprocess.run(
            [executable, f"-T{picture_format}"], input=dot_text.encode("utf-8"), capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise ToolError(
            f"Graphviz's dot did not finish within {timeout:g} s",
            hint="the graph is probably too big to lay out; --format dot writes the DOT text without drawing it",
        ) from None
    except OSError as exc:
        raise ToolError(f"cannot run Graphviz's dot ({executable}): {exc.strerror or exc}", hint=INSTALL_HINT) from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise ToolError(f"Graphviz's dot failed: {reason}", hint="--format dot writes the DOT text without drawing it")
    return done.stdout
