"""The package's shape, checked: no module over 500 lines, no function over 60 lines, and no
import cycle between TraceFood's modules.

Long modules and functions are where a newcomer loses the thread (issue 11), and an import
cycle makes the order of imports matter and hides which room depends on which; the layer
contract in setup.cfg (``lint-imports``) keeps the rooms in order, and this keeps each room
free of cycles inside it too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parent.parent / "tracefood"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
DATA_TABLES: frozenset[tuple[str, str]] = frozenset()
"""(module path relative to the package, function name) of functions that are only a literal
data table and may be longer. Empty: the demo's events are split by stage of the chain
(tracefood/demo/scenario.py), and every other table is a module-level constant, which no
function limit applies to. Add an entry only for a function whose body is one literal, and say
why here."""


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first decorator (or ``def``) to the last line of the body."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    assert node.end_lineno is not None
    return node.end_lineno - first + 1


def test_layout__no_module_over_500_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines: split them by concern"


def test_layout__no_function_over_60_lines_except_data_tables() -> None:
    long = {}
    for path in _modules():
        where = str(path.relative_to(PACKAGE))
        for node in _functions(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if _length(node) > MAX_FUNCTION_LINES and (where, node.name) not in DATA_TABLES:
                long[f"{where}:{node.lineno} {node.name}"] = _length(node)
    assert long == {}, f"functions over {MAX_FUNCTION_LINES} lines: split them into named steps"


def test_layout__the_allowlist_names_only_long_functions() -> None:
    # an entry that no longer names a long function is stale, and would hide the next one
    found = set()
    for path in _modules():
        where = str(path.relative_to(PACKAGE))
        for node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            if (where, node.name) in DATA_TABLES and _length(node) > MAX_FUNCTION_LINES:
                found.add((where, node.name))
    assert found == set(DATA_TABLES)


def _cycles(imports: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or of one module importing
    itself (Tarjan's algorithm, iterative: the graph has a few hundred modules)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(imports[root])))]
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
                    work.append((child, iter(sorted(imports.get(child, set())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in imports.get(node, set()):
                    out.append(sorted(component))
    return out


def test_layout__cycles_finds_a_cycle_and_not_a_chain() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]


def test_layout__no_import_cycle_in_the_package() -> None:
    # Every import that runs, at module level or inside a function (a deferred import still
    # ties the two modules together); imports under `if TYPE_CHECKING:` never run, so they
    # are left out. cache_dir=None: the test writes nothing into the work tree.
    graph = grimp.build_graph("tracefood", exclude_type_checking_imports=True, cache_dir=None)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(imports) == []
