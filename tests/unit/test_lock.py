"""requirements.lock pins every dependency that pyproject.toml asks for, at a version it allows, with hashes.

`make run` and `make test` install from the lock with --require-hashes, so a dependency added to pyproject.toml
but not re-pinned (`make lock`) would be missing on a fresh machine: this test says so first.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;]+)")  # name[extras]==version


def locked() -> dict[str, tuple[Version, int]]:
    """name → (pinned version, number of hashes) as the lock file states them."""
    pins: dict[str, tuple[Version, int]] = {}
    current = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (Version(match.group(2)), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def test_every_declared_dependency_is_pinned_at_an_allowed_version() -> None:
    pins = locked()
    problems = []
    for req in declared():
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req.name}: not in requirements.lock")
        elif not req.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{req.name}: locked at {pins[name][0]}, pyproject asks {req.specifier}")
    assert not problems, "Run `make lock`:\n" + "\n".join(problems)


def test_every_pin_carries_a_hash() -> None:
    pins = locked()
    assert len(pins) > len(declared()), "the lock holds the transitive dependencies too"
    unhashed = [name for name, (_, hashes) in pins.items() if hashes == 0]
    assert not unhashed, f"pins without a file hash: {unhashed}"
