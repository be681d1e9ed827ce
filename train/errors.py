"""The trainer's typed error: a problem the user fixes (data, checkpoint, config at run time)."""

from __future__ import annotations


class TrainError(RuntimeError):
    """Stops training with one clear line that names the file or key at fault."""
