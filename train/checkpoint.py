"""Checkpoints: everything needed to continue a run bit for bit, in a file that loads without pickle.

A checkpoint holds the model, optimizer and grad-scaler states, the step (which is also the data
position: batches are a function of the step, see train/data.py), the resolved config and the RNG
states of torch, CUDA, numpy and Python. Everything is a tensor or a plain int/float/str/list/dict,
so `torch.load(..., weights_only=True)` reads it; a file that would need pickle to load (and could
run code while loading) is refused. Files are written to a temporary name and renamed, so a crash
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from train.errors import TrainError

FORMAT = "llmcli-gpt-1"
NAME = re.compile(r"step_(\d{8})\.pt$")


def checkpoint_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def checkpoint_path(out_dir: str | Path, step: int) -> Path:
    return checkpoint_dir(out_dir) / f"step_{step:08d}.pt"


def list_checkpoints(out_dir: str | Path) -> list[Path]:
    """Complete checkpoints (temporary files excluded), oldest first."""
    d = checkpoint_dir(out_dir)
    return sorted(p for p in d.glob("step_*.pt") if NAME.search(p.name)) if d.is_dir() else []


def step_of(path: Path) -> int:
    return int(NAME.search(path.name).group(1))


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


# --------------------------------------------------------------------------- RNG states as tensors


def rng_state() -> dict[str, Any]:
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": np_kind,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        # Python's Mersenne Twister words are < 2**32, so they fit an int64 tensor
        "python": {
            "version": py_version,
            "state": torch.tensor(py_state, dtype=torch.int64),
            "gauss": py_gauss,
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --------------------------------------------------------------------------- save / load


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write atomically: a temporary file in the same directory, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save({"format": FORMAT, **payload}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def prune_checkpoints(out_dir: str | Path, keep: int) -> None:
    for old in list_checkpoints(out_dir)[:-keep]:
        old.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with weights_only=True; a file that needs pickle is refused, unread."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrainError(f"{path}: checkpoint not found") from None
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()
        detail = next(
            (line for line in first if "Unsupported" in line or "GLOBAL" in line), first[0] if first else ""
        )
        raise TrainError(
            f"{path}: refusing to load: the checkpoint holds objects that need pickle to rebuild "
            f"({detail.strip()}); only tensors and plain values are accepted (weights_only=True)"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise TrainError(f"{path}: not a readable checkpoint ({str(e).splitlines()[0]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise TrainError(f"{path}: not an llmcli checkpoint (expected format {FORMAT!r})")
    return ckpt


def check_model_config(path: str | Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to load weights into a differently shaped (or differently wired) model."""
    keys = sorted(set(saved) | set(current))
    diffs = [
        f"{k}: checkpoint {saved.get(k)!r} != config {current.get(k)!r}"
        for k in keys
        if saved.get(k) != current.get(k)
    ]
    if diffs:
        raise TrainError(
            f"{path}: checkpoint was trained with a different model config ({'; '.join(diffs)}); "
            "use the same model settings or a new out_dir"
        )
