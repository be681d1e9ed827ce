"""metrics.jsonl (one JSON object per step, events as their own records) and loss.png.

A run killed with -9 can leave a torn last line: every reader here skips lines that do not parse,
and a resume rewrites the file (atomically) without them. Non-finite numbers are written as null,
so the file stays strict JSON for any reader.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, TextIO


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics file, skipping torn or foreign lines; [] when there is no file."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            rows.append(rec)
    return rows


def trim_records(path: Path, last_step: int) -> None:
    """On resume: keep the records up to the checkpoint's step (the rest is about to be redone)."""
    if not path.is_file():
        return
    keep = [r for r in read_records(path) if r["step"] <= last_step]
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
    os.replace(tmp, path)


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


class MetricsLog:
    """Appends records, one flushed line each (a kill loses at most the line being written)."""

    def __init__(self, path: Path | None) -> None:
        self._f: TextIO | None = open(path, "a") if path is not None else None  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        if self._f is not None:
            self._f.write(json.dumps({k: _finite(v) for k, v in record.items()}) + "\n")
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


def write_loss_plot(out_dir: Path) -> Path:
    """loss.png from metrics.jsonl: train loss per step, val loss where measured, skipped steps
    and rollbacks marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_records(out_dir / "metrics.jsonl")
    train = [(r["step"], r["loss"]) for r in rows if isinstance(r.get("loss"), (int, float))]
    val = [(r["step"], r["val_loss"]) for r in rows if isinstance(r.get("val_loss"), (int, float))]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train), label="train", linewidth=1)
    if val:
        ax.plot(*zip(*val), "o-", label="val")
    for kind, style in (("skip", ":"), ("rollback", "--")):
        steps = [r["step"] for r in rows if r.get("event") == kind]
        for i, step in enumerate(steps):
            ax.axvline(step, color="red", linestyle=style, linewidth=0.8, label=kind if i == 0 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out_dir / "loss.png"
    tmp = out_dir / f".loss.png.tmp-{os.getpid()}"
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path
