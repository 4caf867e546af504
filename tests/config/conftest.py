"""Helpers for the config tests: write YAML files into tmp_path and load them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from reconcile.config import load_config
from reconcile.errors import Reason, ValidationError


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write("a.yaml", text) → path; text is dedented so tests can indent it."""

    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def errors(*paths: Path | str, **kwargs: Any) -> list[Reason]:
    """The reasons load_config raises (fails the test when it loads)."""
    kwargs.setdefault("env", {})
    with pytest.raises(ValidationError) as info:
        load_config(list(paths), **kwargs)
    return info.value.reasons


def one_error(*paths: Path | str, **kwargs: Any) -> Reason:
    reasons = errors(*paths, **kwargs)
    assert len(reasons) == 1, "\n".join(map(str, reasons))
    return reasons[0]


def at(reason: Reason) -> tuple[str, int | None, int | None, str]:
    """(file name, line, column, path) of a reason."""
    assert reason.source is not None
    return Path(reason.source.file).name, reason.source.line, reason.source.column, reason.path


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test once with each YAML composer (libyaml when PyYAML has it, and the
    pure-Python fallback): both must give the same values, messages and positions."""
    from reconcile.config import yaml_loader

    if request.param == "libyaml" and not yaml_loader.LIBYAML:
        pytest.skip("PyYAML is built without libyaml here")
    monkeypatch.setattr(yaml_loader, "LIBYAML", request.param == "libyaml")
    return str(request.param)
