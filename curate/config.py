"""Pipeline configuration: YAML -> checked dataclasses.

Precedence is defaults < YAML < `--set key.path=value`. Every stage config is a dataclass
whose fields are type-checked on load; an unknown key is an error that lists the valid ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from curate.errors import ConfigError
from curate.inputs import redact


class ConfigPath(str):
    """A file path in a config (a model, a benchmark, a block-list).

    Configs are shared between users, so such a path must resolve inside the project directory,
    the workdir or the directory of a declared input, unless the pipeline sets
    `allow_outside_paths: true`. Use it as a field type: `model: ConfigPath | None = None`.
    """


# --------------------------------------------------------------------------- generic loader

_PATHS_SEEN: list[tuple[str, str]] = []  # (yaml key, path) of every ConfigPath read by the last load


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the type hint `tp`, converting dicts into dataclasses."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        # A mapping given for `SomeConfig | str`: the dataclass is meant, so report its own error
        # (e.g. the unknown key) rather than "matches none of".
        mapped = [a for a in args if dataclasses.is_dataclass(a)]
        if isinstance(value, dict) and len(mapped) == 1:
            return _coerce(value, mapped[0], where)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(
            errors[0] if len(errors) == 1 else f"{where}: {value!r} matches none of {_type_name(tp)}"
        )
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        return from_dict(tp, value, where)
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        kt, vt = typing.get_args(tp) or (Any, Any)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        return {_coerce(k, kt, where): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    if typing.get_origin(tp) is typing.Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {type(value).__name__} {value!r}")
        return value
    if tp is ConfigPath:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a path string, got {type(value).__name__} {value!r}")
        _PATHS_SEEN.append((where, value))
        return ConfigPath(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    return value


def from_dict(cls: type, data: dict, where: str = "") -> Any:
    """Build dataclass `cls` from `data`, checking keys and types; `where` names the YAML path."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(value, hints[name], f"{where}.{name}" if where else name)
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where or cls.__name__}: missing required key {missing[0]!r}")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (ValueError, TypeError) as e:  # __post_init__ checks
        raise ConfigError(f"{where or cls.__name__}: {e}") from None


def to_dict(obj: Any) -> Any:
    """The JSON/YAML-friendly form of a config dataclass (for saving and hashing)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, str):
        return str(obj)  # ConfigPath -> plain str, so YAML dumps stay plain
    return obj


def config_hash(obj: Any) -> str:
    blob = json.dumps(to_dict(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- pipeline config

INPUT_FORMATS = ("warc", "wet", "jsonl", "parquet", "text")


@dataclass
class InputConfig:
    paths: list[str] = field(default_factory=list)
    format: str = "warc"

    def __post_init__(self) -> None:
        if self.format not in INPUT_FORMATS:
            raise ValueError(f"format {self.format!r} is not one of {', '.join(INPUT_FORMATS)}")
        if not self.paths:
            raise ValueError("paths must name at least one file or glob")


@dataclass
class ExecutorConfig:
    type: str = "local"
    workers: int = 0  # 0 = all cores
    address: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ("local", "ray"):
            raise ValueError(f"type {self.type!r} is not one of local, ray")
        if self.workers < 0:
            raise ValueError("workers must be >= 0 (0 = all cores)")


@dataclass
class StageSpec:
    """One entry of `stages:`: the registry name and its checked config dataclass."""

    name: str
    config: Any


@dataclass
class PipelineConfig:
    name: str
    workdir: str
    input: InputConfig
    stages: list[StageSpec]
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    allow_outside_paths: bool = False
    base_dir: str = "."  # directory relative paths resolve against (the working directory)

    @property
    def workdir_path(self) -> Path:
        p = Path(self.workdir)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "workdir": self.workdir,
            # credentials embedded in URLs never reach a saved config or report
            "input": {**to_dict(self.input), "paths": [redact(p) for p in self.input.paths]},
            "executor": to_dict(self.executor),
            "stages": [{s.name: to_dict(s.config)} for s in self.stages],
            **({"allow_outside_paths": True} if self.allow_outside_paths else {}),
        }


PIPELINE_KEYS = ("name", "workdir", "input", "executor", "stages", "allow_outside_paths")


def parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key.path=value")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_override(raw: dict, path: list[str], value: Any) -> None:
    """Set `value` at dotted `path` in the raw YAML mapping.

    Inside `stages`, an element is addressed by its stage name (`stages.filter.min_chars=...`) or
    its index (`stages.1.min_chars=...`); a leading stage name is accepted as a shortcut
    (`filter.min_chars=...`).
    """
    dotted = ".".join(path)
    stage_names = [next(iter(s)) for s in raw.get("stages", []) if isinstance(s, dict) and s]
    if path[0] not in PIPELINE_KEYS and path[0] in stage_names:
        path = ["stages", *path]
    node: Any = raw
    for i, key in enumerate(path[:-1]):
        if isinstance(node, list):
            node = _stage_entry(node, key, dotted)
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"--set {dotted}: {'.'.join(path[:i])} is not a mapping")
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
    last = path[-1]
    if isinstance(node, list):
        raise ConfigError(f"--set {dotted}: cannot replace a whole stage; set one of its keys")
    if not isinstance(node, dict):
        raise ConfigError(f"--set {dotted}: parent is not a mapping")
    node[last] = value


def _stage_entry(stages: list, key: str, dotted: str) -> dict:
    if key.isdigit() and int(key) < len(stages):
        entry = stages[int(key)]
    else:
        matches = [s for s in stages if isinstance(s, dict) and key in s]
        if not matches:
            names = [next(iter(s)) for s in stages if isinstance(s, dict) and s]
            raise ConfigError(
                f"--set {dotted}: no stage {key!r} in this pipeline; stages: {', '.join(names)}"
            )
        entry = matches[0]
    name = next(iter(entry))
    if entry[name] is None:
        entry[name] = {}
    return entry[name]


def read_yaml_mapping(path: str | Path) -> dict:
    """A YAML file's top-level mapping, loaded safely; any problem is one ConfigError line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}:{at}: invalid YAML: {problem}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return raw


def pipeline_from_dict(raw: dict, base_dir: Path, known: dict) -> PipelineConfig:
    unknown = sorted(set(raw) - set(PIPELINE_KEYS))
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r}; valid keys: {', '.join(PIPELINE_KEYS)}")
    for key in ("name", "workdir", "input", "stages"):
        if key not in raw:
            raise ConfigError(f"missing required key {key!r}")
    name = _coerce(raw["name"], str, "name")
    workdir = _coerce(raw["workdir"], str, "workdir")
    inp = _coerce(raw["input"], InputConfig, "input")
    executor = _coerce(raw.get("executor") or {}, ExecutorConfig, "executor")
    allow_outside = _coerce(raw.get("allow_outside_paths", False), bool, "allow_outside_paths")
    if not isinstance(raw["stages"], list) or not raw["stages"]:
        raise ConfigError("stages: expected a non-empty list of stages")
    stages = []
    _PATHS_SEEN.clear()
    for i, entry in enumerate(raw["stages"]):
        where = f"stages[{i}]"
        if isinstance(entry, str):
            entry = {entry: {}}
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(f"{where}: expected one `stage_name: {{options}}` mapping")
        ((stage_name, options),) = entry.items()
        if stage_name not in known:
            raise ConfigError(
                f"{where}: unknown stage {stage_name!r}; valid stages: {', '.join(sorted(known))}"
            )
        cfg = _coerce(options or {}, known[stage_name].config_class, f"{where}.{stage_name}")
        stages.append(StageSpec(stage_name, cfg))
    names = [s.name for s in stages]
    if names[0] != "ingest":
        raise ConfigError("stages[0]: the first stage must be 'ingest'")
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"stages: stage {sorted(dup)[0]!r} appears more than once")
    cfg = PipelineConfig(name, workdir, inp, stages, executor, allow_outside, base_dir=str(base_dir))
    if not allow_outside:
        roots = [base_dir.resolve(), cfg.workdir_path.resolve()]
        roots += [Path(p).parent.resolve() for p in inp.paths if "://" not in p]
        for where, value in _PATHS_SEEN:
            check_inside(value, roots, where, base_dir)
    return cfg


def check_inside(value: str, roots: list[Path], where: str, base_dir: Path) -> None:
    """Refuse a config path that leaves the project, the workdir and the input directories."""
    if "://" in value:
        return  # remote URLs are opened through fsspec with the environment's credentials
    path = Path(value).expanduser()
    path = (path if path.is_absolute() else base_dir / path).resolve()
    for root in roots:
        if path == root or root in path.parents:
            return
    raise ConfigError(
        f"{where}: path {value!r} is outside the project, the workdir and the input directories; "
        "set allow_outside_paths: true in the pipeline to allow it"
    )


def dump_yaml(cfg: PipelineConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True)
