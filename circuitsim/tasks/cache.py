"""Content-addressed cache of finished tasks: ``<root>/<key[:2]>/<key>.npz``, written atomically, so an
interrupted calibration resumes without redoing finished work."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from circuitsim.errors import CircuitsimError
from circuitsim.store import atomic_write_bytes, npz_bytes, read_npz


class TaskCache:
    """Finished task results by key. A missing or unreadable entry counts as not done."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return read_npz(path)
        except Exception:  # noqa: BLE001 - a damaged entry (bad zip, CRC, truncated, empty) is redone, never trusted
            path.unlink(missing_ok=True)
            return None

    def check_writable(self) -> None:
        """Refuse an unwritable cache before any SPICE work is done (its results would be lost)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise CircuitsimError(f"the task cache {self.root} is not writable ({exc.strerror or exc}); "
                                  "choose another with --cache DIR or CIRCUITSIM_CACHE") from None

    def store(self, key: str, result: dict[str, np.ndarray]) -> None:
        atomic_write_bytes(self.path(key), npz_bytes(result))
