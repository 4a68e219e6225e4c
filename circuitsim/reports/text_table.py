"""Terminal tables rendered by rich: every column as wide as its widest cell, so cells never run together.

Columns are separated by ``│`` (the header by a ``─┼─`` rule); a cell never wraps (the console is as wide
as the table needs), so each row keeps the same column boundaries. No colour and no markup: the text is
the same on a terminal, in a pipe and in a test.
"""

from __future__ import annotations

import io


def render_table(columns, rows, indent: int = 0) -> str:
    """``columns``: header strings (``"\\n"`` splits a header over lines; a header ending in ``">"`` is
    right-justified, the ``">"`` dropped); ``rows``: sequences of cells (``None`` prints ``-``).
    Returns the table's lines joined by newlines, each indented by ``indent`` spaces, trailing blanks cut."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.MINIMAL, show_edge=False, pad_edge=False)
    for header in columns:
        right = header.endswith(">")
        table.add_column(header[:-1] if right else header, justify="right" if right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*("-" if cell is None else str(cell) for cell in row))
    buffer = io.StringIO()
    Console(file=buffer, width=100_000, color_system=None, markup=False, highlight=False, emoji=False,
            force_terminal=False, soft_wrap=False).print(table)
    pad = " " * indent
    return "\n".join(pad + line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())
