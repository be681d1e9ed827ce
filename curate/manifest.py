"""Per-stage manifest: which shards are complete, with row counts and checksums.

A shard is complete only when its manifest entry exists and every file it names is present
with the recorded size and checksum. Files appear by atomic rename before the entry is written,
so a crash at any moment leaves either a complete shard or one that is simply redone.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from curate.stats import ShardStats

MANIFEST = "_manifest.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def describe_file(path: Path, final_name: str | None = None) -> dict:
    """Size, checksum and (for Parquet) row count of a finished output file."""
    info = {"bytes": path.stat().st_size, "sha256": file_digest(path)}
    if (final_name or path.name).endswith(".parquet"):
        import pyarrow.parquet as pq

        info["rows"] = pq.ParquetFile(path).metadata.num_rows
    return info


@dataclass
class Manifest:
    stage: str
    position: int
    config_hash: str
    config: dict = field(default_factory=dict)
    shards: dict[str, dict] = field(default_factory=dict)
    steps: dict[str, dict] = field(default_factory=dict)  # global passes: prepare / finalize
    complete: bool = False
    num_shards: int = 0
    seconds: float = 0.0
    # The shard files were deleted after the run (they held raw text, `pii: {discard_raw: true}`);
    # the counts stay. Recomputed, byte-identical, if a later stage needs them again.
    discarded: bool = False

    @classmethod
    def load(cls, stage_dir: Path) -> Manifest | None:
        path = stage_dir / MANIFEST
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (ValueError, TypeError):
            return None  # unreadable manifest: the stage is redone

    def save(self, stage_dir: Path) -> None:
        atomic_write_text(stage_dir / MANIFEST, json.dumps(self.__dict__, indent=1, sort_keys=True))

    def shard_valid(self, stage_dir: Path, name: str, verify: bool = True) -> bool:
        entry = self.shards.get(name)
        if not entry or entry.get("status") != "done":
            return False
        for rel, info in entry.get("files", {}).items():
            path = stage_dir / rel
            if not path.is_file() or path.stat().st_size != info["bytes"]:
                return False
            if verify and file_digest(path) != info["sha256"]:
                return False
        return True

    def totals(self) -> ShardStats:
        """The stage's counts: every finished shard's merged."""
        total = ShardStats()
        for entry in self.shards.values():
            if entry.get("status") == "done":
                total.merge(ShardStats.from_dict(entry["stats"]))
        return total

    def kept_files(self) -> list[tuple[int, str, int]]:
        """(shard index, relative path, rows) of every kept shard file, in shard order.

        A shard that kept nothing has no file and is left out (no zero-row Parquet files).
        """
        out = []
        for name, entry in sorted(self.shards.items(), key=lambda kv: int(kv[0].removeprefix("part-"))):
            rel = f"{name}.parquet"
            info = entry.get("files", {}).get(rel)
            if entry.get("status") == "done" and info is not None:
                out.append((int(name.removeprefix("part-")), rel, info.get("rows")))
        return out
