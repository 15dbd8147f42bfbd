"""environment.yml (conda), the Makefile (.venv) and pyproject.toml describe one environment."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
ENV = yaml.safe_load((REPO / "environment.yml").read_text())


def conda_deps() -> list[str]:
    return [d for d in ENV["dependencies"] if isinstance(d, str)]


def pip_deps() -> list[str]:
    lists = [d["pip"] for d in ENV["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(lists) == 1, "environment.yml needs exactly one pip: section"
    return lists[0]


def torch_pin(requirements: list[str]) -> str:
    pins = [str(Requirement(r).specifier) for r in requirements if Requirement(r).name == "torch"]
    assert len(pins) == 1, f"expected one torch requirement in {requirements}"
    return pins[0]


def test_python_version_satisfies_requires_python():
    pythons = [d for d in conda_deps() if re.fullmatch(r"python[=<>!~ ].*", d)]
    assert pythons == ["python=3.11"], pythons
    assert Version("3.11") in SpecifierSet(PYPROJECT["requires-python"])


def test_package_is_installed_editable_with_dev_extra():
    assert "-e .[dev]" in pip_deps()
    assert "dev" in PYPROJECT["optional-dependencies"]
    assert "pip" in conda_deps()


def test_torch_pin_is_the_same_everywhere():
    pin = torch_pin(PYPROJECT["dependencies"])
    assert pin.startswith("=="), f"pyproject must pin torch exactly, got {pin!r}"
    env_requirements = [d for d in pip_deps() if not d.startswith("-")]
    assert torch_pin(env_requirements) == pin
    assert pip_deps()[0] == f"torch{pin}", "torch must be installed first (a bare torch pulls a CUDA build)"
    makefile = (REPO / "Makefile").read_text()
    assert re.search(rf"^TORCH := torch{re.escape(pin)}$", makefile, re.M), "Makefile's TORCH differs from pyproject"


def test_dev_extra_has_the_tools_the_makefile_calls():
    dev = {Requirement(r).name.lower(): Requirement(r) for r in PYPROJECT["optional-dependencies"]["dev"]}
    for tool in ("pytest", "pytest-xdist", "nbval", "papermill", "ipykernel", "jupyter-book", "voila", "selenium"):
        assert tool in dev, f"{tool} missing from the dev extra"
    # Jupyter Book 2.x is a different program (MyST-JS) that cannot build offline.
    assert Version("2.0") not in dev["jupyter-book"].specifier
    assert Version("1.0.4") in dev["jupyter-book"].specifier
