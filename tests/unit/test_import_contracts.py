"""The import contracts in pyproject.toml hold: core below the features, and no new cycle between packages.

The linter runs as a program (`lint-imports`, as in `make test`). The two tests that break a contract do it in a
copy of the package, so they show the contracts catch what they are meant to catch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(project: Path) -> subprocess.CompletedProcess[str]:
    """Run the linter on the project at this path (its pyproject.toml, its qa_incidents package)."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(  # noqa: S603  (a fixed program of the environment, no shell)
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(project / "pyproject.toml")],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_contracts_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, to break."""
    shutil.copytree(ROOT / "qa_incidents", tmp_path / "qa_incidents",
                    ignore=shutil.ignore_patterns("__pycache__", "*.ttf", "*.csv"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(module: Path, line: str) -> None:
    module.write_text(module.read_text(encoding="utf-8") + f"\n\ndef _added():\n    {line}\n", encoding="utf-8")


def test_core_importing_a_feature_breaks_the_layers(copy: Path):
    add_import(copy / "qa_incidents/core/clock.py", "from qa_incidents.recalls import rules  # noqa")
    result = lint(copy)
    assert result.returncode == 1
    assert "Layers: core below the features, the command line and seed data above them BROKEN" in result.stdout
    assert "qa_incidents.core.clock -> qa_incidents.recalls.rules" in result.stdout
    assert "No cycles between the features KEPT" in result.stdout


def test_a_new_cycle_between_features_breaks(copy: Path):
    # The incidents import the catalogue; the catalogue importing the incidents closes a new cycle.
    add_import(copy / "qa_incidents/catalogue/service.py", "from qa_incidents.incidents import models  # noqa")
    result = lint(copy)
    assert result.returncode == 1
    assert "No cycles between the features BROKEN" in result.stdout
    assert "Layers: core below the features, the command line and seed data above them KEPT" in result.stdout
