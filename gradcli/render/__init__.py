"""Renderers: pure functions from result data to text (JSON, rich tables, error reports)."""


def plain_text(renderable, width: int = 100) -> str:
    """What rich prints for `renderable` at `width` columns, with no escape codes (for files and reports)."""
    from rich.console import Console

    console = Console(width=width, color_system=None, highlight=False, soft_wrap=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()
