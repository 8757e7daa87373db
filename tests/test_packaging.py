"""Packaging: declared dependencies, the lock file, the Python range and the licenses stay consistent."""

import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements_txt() -> dict[str, Requirement]:
    found = {}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def _constraints() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line.strip())
            assert match, f"constraints.txt pins exact versions only, one `name==version` a line: {line!r}"
            pins[canonicalize_name(match.group(1))] = Version(match.group(2))
    return pins


def test_pyproject_declares_exactly_the_requirements_ranges():
    project = PYPROJECT["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    by_name = {canonicalize_name(r.name): str(r.specifier) for r in declared}
    assert len(by_name) == len(declared), "a package is declared twice in pyproject.toml"
    wanted = {name: str(r.specifier) for name, r in _requirements_txt().items()}
    assert by_name == wanted


def test_runtime_dependencies_are_what_the_notebooks_import():
    runtime = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    assert {"tensorflow", "keras", "numpy", "pandas", "matplotlib", "keras-tuner", "ipython"} <= runtime
    assert not runtime & {"pytest", "nbval", "ruff", "selenium", "jupyterlab"}, "tools belong in extras"


def test_every_requirement_is_locked_to_a_version_inside_its_range():
    pins = _constraints()
    for name, requirement in _requirements_txt().items():
        assert name in pins, f"{name} is not pinned in constraints.txt (run `make lock`)"
        assert pins[name] in requirement.specifier, f"constraints.txt pins {name}=={pins[name]}, outside {requirement}"


def test_the_environment_tested_is_the_locked_one():
    """This environment (made by `make venv`) holds the locked versions of the direct requirements."""
    from importlib.metadata import PackageNotFoundError, version

    pins = _constraints()
    drift = {}
    for name in _requirements_txt():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            continue
        if installed != pins[name]:
            drift[name] = (str(installed), str(pins[name]))
    if Path(sys.prefix).name == ".venv-latest":
        pytest.skip("make test-latest ignores the lock on purpose")
    assert not drift, f"installed (left) differs from constraints.txt (right): {drift}; run `make venv`"


def test_python_range_is_what_tensorflow_publishes_wheels_for():
    allowed = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert "3.10" in allowed and "3.13" in allowed
    assert "3.14" not in allowed and "3.9" not in allowed
    current = ".".join(map(str, sys.version_info[:3]))
    assert current in allowed, f"this Python ({current}) is outside requires-python"


def test_licenses_are_declared_and_present():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT AND CC-BY-4.0"
    for name in project["license-files"]:
        assert (REPO / name).is_file(), name
    assert "MIT License" in (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "creativecommons.org/licenses/by/4.0" in (REPO / "LICENSE-CONTENT.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "LICENSE" in readme and "CC BY 4.0" in readme


def test_distribution_name_is_distinctive():
    assert canonicalize_name(PYPROJECT["project"]["name"]) == "rnn-course-utils"
    assert PYPROJECT["build-system"]["build-backend"] == "course_build_backend"
