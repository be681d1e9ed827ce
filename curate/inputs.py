"""Resolving `input.paths` (local globs or fsspec URLs) into a sorted list of files."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from curate.errors import ConfigError

# The shipped pipelines read the project's sample crawl, built by `make sample-data`.
SAMPLE_DIR = Path("data/sample")


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def resolve_inputs(patterns: list[str], base_dir: Path = Path(".")) -> list[str]:
    """Expand every pattern (`input.paths`); each must match a file. Order is sorted, hence stable."""
    out: list[str] = []
    for pattern in patterns:
        matches = _expand(pattern, base_dir)
        if not matches:
            hint = (
                " (build the sample crawl with `make sample-data`)" if _is_sample(pattern, base_dir) else ""
            )
            raise ConfigError(f"input.paths: no file matches {pattern!r}{hint}")
        out.extend(m for m in matches if m not in out)
    return out


def _expand(pattern: str, base_dir: Path) -> list[str]:
    if _is_url(pattern):
        import fsspec

        try:
            fs, _, paths = fsspec.get_fs_token_paths(pattern)
        except (OSError, ValueError, ImportError) as e:
            raise ConfigError(f"input.paths: cannot list {pattern!r}: {e}") from None
        protocol = pattern.split("://", 1)[0]
        return sorted(p if "://" in p else f"{protocol}://{p}" for p in paths)
    pattern = pattern.removeprefix("file://")
    path = Path(pattern)
    if not path.is_absolute():
        path = base_dir / path
    return sorted(str(Path(p)) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())


def _is_sample(pattern: str, base_dir: Path) -> bool:
    p = Path(pattern)
    if not p.is_absolute():
        p = base_dir / p
    try:
        p.relative_to(base_dir / SAMPLE_DIR)
    except ValueError:
        return False
    return True


_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*:///?)[^/@]*@", re.IGNORECASE)


def redact(path: str) -> str:
    """A path fit for logs, reports and manifests: no `user:secret@`, no signed query string."""
    if not _is_url(path):
        return path
    return _USERINFO.sub(r"\1", path.split("?", 1)[0].split("#", 1)[0])


def open_input(path: str):
    """A binary file object for a local path or fsspec URL (credentials come from the environment)."""
    if _is_url(path):
        import fsspec

        return fsspec.open(path, "rb").open()
    return open(path.removeprefix("file://"), "rb")
