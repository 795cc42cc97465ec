"""scripts/serve.sh on a fresh machine: XLT_DATA_DIR only when ../shared/data exists (or was set)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.factories import REPO


def _serve_sh(tmp_path: Path, env: dict[str, str]) -> str:
    """Run a copy of the script in a checkout whose setup.sh and xlt only report XLT_DATA_DIR."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True, exist_ok=True)
    (checkout / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "scripts" / "serve.sh", checkout / "scripts" / "serve.sh")
    (checkout / "scripts" / "setup.sh").write_text("true\n")
    xlt = checkout / ".venv" / "bin" / "xlt"
    xlt.write_text('#!/bin/sh\necho "XLT_DATA_DIR=${XLT_DATA_DIR-unset} $*"\n')
    xlt.chmod(0o755)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XLT_")}
    done = subprocess.run(
        ["bash", str(checkout / "scripts" / "serve.sh"), "--port", "9"],
        env=clean | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_serve_sh_sets_the_data_dir_only_when_the_shared_data_folder_exists(tmp_path: Path) -> None:
    assert _serve_sh(tmp_path, {}) == "XLT_DATA_DIR=unset serve --port 9"
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert _serve_sh(tmp_path, {}) == f"XLT_DATA_DIR={tmp_path / 'shared' / 'data'} serve --port 9"
    assert _serve_sh(tmp_path, {"XLT_DATA_DIR": "/mine"}) == "XLT_DATA_DIR=/mine serve --port 9"
