"""No code path hands untrusted input to a shell, eval/exec, pickle, or an unrestricted torch.load."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p for d in ("curate", "train") for p in (REPO / d).rglob("*.py") if "__pycache__" not in p.parts
) + [REPO / "cli.py"]


def calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            yield node, owner, name


def problems_in(path: Path, root: Path = REPO) -> list[str]:
    problems = []
    for node, owner, name in calls(path):
        where = f"{path.relative_to(root)}:{node.lineno}"
        if name in ("eval", "exec") and isinstance(node.func, ast.Name):  # not model.eval()
            problems.append(f"{where}: {name}()")
        if owner in ("pickle", "cPickle", "dill", "marshal") and name in ("load", "loads"):
            problems.append(f"{where}: {owner}.{name}()")
        if owner == "yaml" and name in ("load", "unsafe_load", "full_load"):
            problems.append(f"{where}: yaml.{name}() (use yaml.safe_load)")
        if owner == "os" and name in ("system", "popen"):
            problems.append(f"{where}: os.{name}()")
        for kw in node.keywords:
            if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                problems.append(f"{where}: shell=...")
        if owner == "torch" and name == "load":
            safe = any(
                kw.arg == "weights_only" and isinstance(kw.value, ast.Constant) and kw.value.value is True
                for kw in node.keywords
            )
            if not safe:
                problems.append(f"{where}: torch.load without weights_only=True")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_shell_eval_pickle_or_unsafe_torch_load(path: Path) -> None:
    problems = problems_in(path)
    assert not problems, "\n".join(problems)


def test_the_scan_finds_each_kind_of_unsafe_call(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import torch, subprocess, pickle, yaml\n"
        "torch.load('x')\nsubprocess.run('ls', shell=True)\neval('1')\npickle.loads(b'')\nyaml.load('')\n"
        "torch.load('y', weights_only=True)\nmodel.eval()\n"
    )
    found = problems_in(bad, tmp_path)
    assert [p.split(": ", 1)[1] for p in found] == [
        "torch.load without weights_only=True",
        "shell=...",
        "eval()",
        "pickle.loads()",
        "yaml.load() (use yaml.safe_load)",
    ]
