"""The package's layout: no import cycles, and no module imports from a higher layer.

The imports are read from the source with `ast` (module-level, function-level and
TYPE_CHECKING ones alike), so a cycle hidden inside a function counts too.
"""

import ast
import re
from pathlib import Path

import pytest

import spatialmix

PACKAGE = Path(spatialmix.__file__).resolve().parent
ROOT = PACKAGE.name  # "spatialmix"

# lowest first, the order spatialmix/__init__.py's docstring states; a module imports only from
# its own layer or a lower one. A listed name covers a subpackage ("perf" is perf/*), and
# "__init__" is the package's public API, which nothing inside the package imports.
LAYERS = [
    ("layers", "depthwise", "fused", "spectral", "attacks", "text"),
    ("regimes",),
    ("models",),
    ("formats", "datasets", "data", "streamloader", "stream"),
    ("accel", "provenance", "distributed"),
    ("train", "evaluation", "unshuffle"),
    ("scales", "records", "store", "frames", "results", "run_flops"),
    ("experiments", "perf", "migrate"),
    ("chapters", "claims", "report", "plots", "selfcheck", "queue", "gpucheck", "__init__"),
    ("scoreboard", "runbook", "smoothing", "frozen_banks"),
]


def module_name(path: Path) -> str:
    """Dotted name inside the package: "models", "perf.suite", "perf" (perf/__init__.py)."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(dotted: list[str], modules: dict[str, Path]) -> str | None:
    """The module a dotted path inside the package names: "" is the package itself."""
    name = ".".join(dotted) or "__init__"
    return name if name in modules else None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of the package that `name` imports, anywhere in its source."""
    here = [] if name == "__init__" else name.split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == ROOT:
                    found.add(_resolve(parts[1:], modules))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:  # relative: level 1 is this package, 2 its parent, ...
            target = package[: len(package) - node.level + 1]
            target += node.module.split(".") if node.module else []
        elif (node.module or "").split(".")[0] == ROOT:
            target = node.module.split(".")[1:]
        else:
            continue  # another library
        for alias in node.names:  # `from . import results` imports the module results
            found.add(_resolve([*target, alias.name], modules) or _resolve(target, modules))
    found.discard(None)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def layer_of(name: str) -> int | None:
    """Index of the layer listing `name` or the subpackage holding it."""
    for i, layer in enumerate(LAYERS):
        for listed in layer:
            if name == listed or name.startswith(listed + "."):
                return i
    return None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_import_walk_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "layers" in graph["models"]
    assert "chapters" in graph["report.missing"]  # imported inside a function, relatively (..)
    assert graph["layers"] == {"depthwise"} and graph["depthwise"] == set()


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in package_modules() if layer_of(m) is None)
    assert not unplaced, f"place {unplaced} in a layer of LAYERS (and spatialmix's docstring)"


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_imports_from_a_higher_layer():
    upward = [
        f"{name} (layer {layer_of(name) + 1}) imports {dep} (layer {layer_of(dep) + 1})"
        for name, deps in import_graph().items()
        for dep in sorted(deps)
        if None not in (layer_of(name), layer_of(dep)) and layer_of(dep) > layer_of(name)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_the_package_docstring_states_these_layers():
    stated = re.findall(r"^\s*(\d+)\. ([\w., ]+?):", spatialmix.__doc__, re.MULTILINE)
    assert [int(n) for n, _ in stated] == list(range(1, len(LAYERS) + 1))
    assert [tuple(m.strip() for m in names.split(",")) for _, names in stated] == LAYERS


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ],
)
def test_find_cycle(graph, cycle):
    assert find_cycle(graph) == cycle
