"""A config path or var file that is not a regular file is refused before it is opened:
`open()` of a FIFO blocks until a writer comes, so `validate` used to hang forever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")

# Far above the run's real time (well under a second of work), so that a hang fails.
BOUND_S = 60


def _validate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconcile", "validate", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=BOUND_S, stdin=subprocess.DEVNULL)


def test_fifo_as_the_config_path_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "infrai.yaml")
    result = _validate("infrai.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert ("infrai.yaml: cannot read the file: it is a FIFO (named pipe), not a regular file; "
            "give a YAML file or a directory of them") in result.stderr
    assert "Traceback" not in result.stderr


def test_fifo_as_a_var_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "infrai.yaml").write_text("stack: ${var:stack}\n")
    os.mkfifo(tmp_path / "vars.yaml")
    result = _validate("infrai.yaml", "--var-file", "vars.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "vars.yaml: cannot read the file: it is a FIFO (named pipe), not a regular file" in result.stderr


def test_fifo_inside_a_config_directory_is_refused_by_name(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "a.yaml").write_text("projects: [{name: web}]\n")
    os.mkfifo(conf / "b.yaml")
    (conf / "sub.yaml").mkdir()  # a directory is not read (not recursive), as before
    result = _validate("conf", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "b.yaml: cannot read the file: it is a FIFO (named pipe)" in result.stderr
    assert "sub.yaml" not in result.stderr


def test_a_device_is_refused(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    result = _validate("/dev/zero", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "/dev/zero: cannot read the file: it is a character device, not a regular file" in result.stderr
