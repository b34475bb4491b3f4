"""The package structure: arrows point one way, no import cycles, no private names across
modules. Read from the source with ``ast`` (lazy imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("vrenvs", "agents", "generators")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The project module ``name`` refers to (itself or its longest module prefix)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every project import in ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name)
                if target:
                    found.append((target, None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    found.append((sub, None, node.lineno))
                elif _resolve(base):
                    found.append((_resolve(base), alias.name, node.lineno))
    return found


GRAPH = {m: _imports(m) for m in MODULES}


def test_the_modules_were_found():
    assert {"vrenvs.core.world", "vrenvs.envs.base", "agents.train", "generators.models"} <= set(MODULES)


def test_vrenvs_imports_neither_agents_nor_generators():
    bad = [
        f"{m}:{line} imports {target}"
        for m, edges in GRAPH.items()
        if m.split(".")[0] == "vrenvs"
        for target, _, line in edges
        if target.split(".")[0] in ("agents", "generators")
    ]
    assert bad == []


def test_vrenvs_does_not_name_its_dependants_in_strings():
    """No ``"generators.registry:gan_source"`` style references: plug-ins are entry points."""
    bad = []
    for module, path in MODULES.items():
        if module.split(".")[0] != "vrenvs":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and text.startswith(("agents.", "generators.")):
                bad.append(f"{module}:{node.lineno} {text!r}")
    assert bad == []


def test_generators_import_only_the_core_of_vrenvs():
    bad = [
        f"{m}:{line} imports {target}"
        for m, edges in GRAPH.items()
        if m.startswith("generators")
        for target, _, line in edges
        if target.startswith(("agents", "vrenvs.")) and not target.startswith("vrenvs.core")
    ]
    assert bad == []


def test_no_private_name_is_imported_from_another_module():
    bad = [
        f"{m}:{line} imports {name} from {target}"
        for m, edges in GRAPH.items()
        for target, name, line in edges
        if name and name.startswith("_") and not name.startswith("__") and target != m
    ]
    bad += [
        f"{m} imports the private module {target}"
        for m, edges in GRAPH.items()
        for target, _, _ in edges
        if any(p.startswith("_") and not p.startswith("__") for p in target.split("."))
    ]
    assert bad == []


def _cycles() -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    edges = {m: sorted({t for t, _, _ in GRAPH[m] if t != m}) for m in GRAPH}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle():
    GRAPH["vrenvs.core.grid"].append(("vrenvs.core.world", None, 0))
    try:
        assert any("vrenvs.core.world" in c and "vrenvs.core.grid" in c for c in _cycles())
    finally:
        GRAPH["vrenvs.core.grid"].pop()


def _decorator_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", ""))
    return names


def test_kernels_are_bound_by_assignment_so_mutation_testing_reaches_them():
    """``name = kernel(name)`` after a plain ``def name``, never ``@kernel`` (mutmut skips
    decorated functions; vrenvs.core.jit)."""
    bound, decorated = [], []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "kernel" in _decorator_names(
                node
            ):
                decorated.append(f"{module}.{node.name}")
        for node in tree.body:
            value = node.value if isinstance(node, ast.Assign) else None
            if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "kernel":
                (target,) = node.targets
                assert isinstance(target, ast.Name) and [a.id for a in value.args] == [target.id], module
                assert target.id in defs, f"{module}.{target.id} is not a module-level def"
                bound.append(f"{module}.{target.id}")
    assert decorated == []
    assert len(bound) >= 20 and "vrenvs.core.rules._physics" in bound, bound
