"""The architecture holds: arrows point inward, no import cycle, no function too complex or too long.

The layer contracts live in pyproject.toml ([tool.importlinter]) so `lint-imports` shows the same
thing in a dev install; this test runs them, then looks for cycles between any two modules (a
package and its own submodule included) and measures every function with radon and the AST.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from radon.complexity import cc_visit

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "mesoclaw_tui"
MAX_COMPLEXITY = 20
MAX_LINES = 60

# A measured speed choice: the classifier's flat shape is what makes it fast (see core/classifier.py).
COMPLEXITY_EXEMPT = {"core/classifier.py:classify"}

# Functions over a limit that are being fixed on another branch go here, with a comment; an entry
# that no longer needs to be here fails the test, so it cannot outlive the fix.
BEING_FIXED: dict[str, set[str]] = {}


def test_import_contracts_hold() -> None:
    """Layers (nothing points up), core uses the standard library only, no cycle between siblings."""
    run = ("import sys; from importlinter.cli import lint_imports; "
           "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", run], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_any_two_modules() -> None:
    """Imports inside functions and under TYPE_CHECKING count too: a cycle is a cycle."""
    graph = grimp.build_graph("mesoclaw_tui", cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.c")
    graph.add_import(importer="p.c", imported="p.a")
    graph.add_import(importer="p", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


# no back doors into the store ---------------------------------------------------------------------



def test_nothing_outside_service_and_store_reaches_into_the_store() -> None:
    """Faces and the engine call the service's methods; `service.store` is the service's own."""
    users = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where.startswith(("service/", "store/")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Attribute) and node.attr == "store" for node in ast.walk(tree)):
            users.add(where)
    assert users == set()


# function size ------------------------------------------------------------------------------------


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def _complexities(blocks: list, prefix: str = "") -> Iterator[tuple[str, int]]:
    """radon's blocks (functions, and methods as Class.method), with their closures."""
    for block in blocks:
        if hasattr(block, "methods"):  # a class: radon lists its methods as blocks of their own
            continue
        name = prefix + (block.fullname if not prefix else block.name)
        yield name, block.complexity
        yield from _complexities(block.closures, f"{name}.")


def _measure() -> dict[str, dict[str, int]]:
    """Each function of the package: its radon complexity and its length in lines."""
    sizes: dict[str, dict[str, int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(PACKAGE).as_posix()
        for name, node in _functions(ast.parse(source)):
            sizes.setdefault(f"{where}:{name}", {})["lines"] = (node.end_lineno or node.lineno) - node.lineno + 1
        for name, complexity in _complexities(cc_visit(source)):
            entry = sizes.setdefault(f"{where}:{name}", {})
            entry["complexity"] = max(entry.get("complexity", 0), complexity)
    return sizes


def _over_limits(sizes: dict[str, dict[str, int]]) -> dict[str, set[str]]:
    over: dict[str, set[str]] = {}
    for name, size in sizes.items():
        if size.get("complexity", 0) > MAX_COMPLEXITY and name not in COMPLEXITY_EXEMPT:
            over.setdefault(name, set()).add("complexity")
        if size.get("lines", 0) > MAX_LINES:
            over.setdefault(name, set()).add("lines")
    return over


def test_no_function_over_complexity_20_or_60_lines() -> None:
    sizes = _measure()
    over = _over_limits(sizes)
    unexpected = {name: {f"{limit} {sizes[name][limit]}" for limit in limits - BEING_FIXED.get(name, set())}
                  for name, limits in over.items() if limits - BEING_FIXED.get(name, set())}
    assert unexpected == {}, f"split these (complexity <= {MAX_COMPLEXITY}, <= {MAX_LINES} lines)"


def test_the_being_fixed_list_only_names_functions_still_over_a_limit() -> None:
    over = _over_limits(_measure())
    stale = {name: limits - over.get(name, set()) for name, limits in BEING_FIXED.items()
             if limits - over.get(name, set())}
    assert stale == {}, "fixed (or gone): remove these entries from BEING_FIXED"


@pytest.mark.parametrize("name", sorted(COMPLEXITY_EXEMPT))
def test_the_complexity_exemptions_exist(name: str) -> None:
    assert name in _measure()
