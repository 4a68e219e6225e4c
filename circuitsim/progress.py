"""The progress bar of the commands that loop over blocks (validate, export, demo): tqdm on standard error,
shown only when asked for and when both standard output and standard error are terminals (a pipe or a log
file gets none)."""

from __future__ import annotations

import sys


def block_bar(items, what: str, enabled: bool = True):
    """``items`` wrapped in a tqdm bar labelled ``what`` (unit: block) when ``enabled`` and both streams are
    terminals; else ``items`` unchanged."""
    if not (enabled and sys.stdout.isatty() and sys.stderr.isatty()):
        return items
    from tqdm import tqdm

    return tqdm(items, desc=what, unit="block", leave=False, file=sys.stderr)
