"""Loading a pipeline YAML against the registry of stages (curate.stage), checked before any work.

This sits above `curate.config` (the generic dataclass loader, which knows no stage) and
`curate.stage` (the registry), so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

from curate.config import (
    ConfigError,
    PipelineConfig,
    apply_override,
    parse_override,
    pipeline_from_dict,
    read_yaml_mapping,
)
from curate.stage import STAGES, load_stage_modules


def load_pipeline(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> PipelineConfig:
    """Read, override, and check a pipeline YAML. Raises ConfigError with one clear line."""
    load_stage_modules()
    path = Path(path)
    raw = read_yaml_mapping(path)
    for item in overrides:
        keys, value = parse_override(item)
        apply_override(raw, keys, value)
    try:
        return pipeline_from_dict(raw, base_dir=Path.cwd(), known=STAGES)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
