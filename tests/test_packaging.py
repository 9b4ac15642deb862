"""environment.yml (conda, cannot be solved offline) names the same packages as pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_environment_yml_parses_and_names_the_pyproject_packages():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["name"] == "spatialmix" and "conda-forge" in env["channels"]
    names, pip_lines = set(), []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_lines = dep["pip"]
        elif _name(dep) not in ("python", "pip"):
            names.add(CONDA_NAMES.get(_name(dep), _name(dep)))
    names |= {_name(p) for p in pip_lines if not p.startswith("-e")}
    assert "-e ." in pip_lines, "the conda env must install the library itself"
    project = _pyproject()
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    assert names == wanted


def test_torch_is_not_pinned_by_the_library():
    deps = [r for r in _pyproject()["dependencies"] if _name(r) in ("torch", "torchvision")]
    assert deps and all("==" not in r for r in deps)


def test_ci_and_readme_use_the_same_test_command():
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()
