"""The package structure: no import cycle among the project's modules, and `curate` never imports
`train` (the trainer imports what both need, the config loader and the token shard format, from
`curate`, one way only). Imports inside functions count too: a lazy import is still a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("curate", "train")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    mods = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    mods["cli"] = ROOT / "cli.py"
    return mods


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules `path` imports (a `from pkg import mod` names the module when it is one)."""
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # `import curate.stages.dedup` -> the deepest known module
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    mods = project_modules()
    known = set(mods)
    return {name: imports_of(path, name, known) for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a list of modules (first == last), or None; package __init__ re-exports included."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_the_checker_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_the_project_modules() -> None:
    edges = graph()
    assert len(edges) > 40 and {"curate.pipeline", "curate.config"} <= edges["cli"]
    assert "curate.report" in edges["curate.runner"] and "curate.runner" not in edges["curate.report"]
    cycle = find_cycle(edges)
    assert cycle is None, " -> ".join(cycle)


def test_curate_never_imports_train() -> None:
    edges = graph()
    bad = sorted(
        f"{a} -> {b}"
        for a, bs in edges.items()
        if a.startswith("curate")
        for b in bs
        if b.startswith("train")
    )
    assert not bad, bad
    assert any(b.startswith("curate.") for b in edges["train.data"])  # the one-way dependency exists
