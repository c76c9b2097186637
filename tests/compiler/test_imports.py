"""The compiler's import graph: no cycles, and the op tables stay below the stages that
read them. Imports are read with ``ast`` (every ``import`` statement, also those inside
functions), so a lazy import cannot hide a circle.

Also: importing the reference executor does not load cffi (the reference is NumPy only).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

COMPILER = Path(__file__).resolve().parents[2] / "compiler"
# ops/ holds the per-precision op tables; the stages read them, never the other way round.
FORBIDDEN_FROM_OPS = ("cnnc.reference", "cnnc.backend.codegen", "cnnc.backend.report")


def module_name(path: Path) -> str:
    parts = path.relative_to(COMPILER).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("cnnc", *parts))


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The cnnc modules ``path`` imports (``from .x import y`` counts y if y is a module)."""
    tree = ast.parse(path.read_text(), str(path))
    package, found = package_of(path), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("cnnc"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("cnnc"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m in known and not m.startswith("cnnc.models")}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in COMPILER.rglob("*.py")}
    known = set(files)
    graph = {}
    for name, path in files.items():
        deps = imported_modules(path, known)
        # a submodule's import runs its package's __init__ first: that edge is implicit
        graph[name] = {d for d in deps if d != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_graph_is_read():
    graph = import_graph()
    assert "cnnc.ops.registry" in graph and "cnnc.ops.f32" in graph["cnnc.ops.registry"]
    assert "cnnc.ops.registry" in graph["cnnc.backend.codegen"]


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_compiler():
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


@pytest.mark.parametrize("module", ["f32", "s8", "b1", "opdef", "registry", "requant", "bitpack"])
def test_ops_do_not_import_the_stages(module):
    deps = import_graph()[f"cnnc.ops.{module}"]
    bad = sorted(d for d in deps if d.startswith(FORBIDDEN_FROM_OPS) or d.startswith("cnnc.host"))
    assert not bad, f"cnnc.ops.{module} imports {bad}; ops/ may import ir, errors and ops/ only"


def test_importing_the_reference_does_not_load_cffi():
    code = "import sys, cnnc.reference; print('cffi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", "importing cnnc.reference loaded cffi"
