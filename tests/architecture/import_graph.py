"""The project's real import graph, read from the source with `ast`.

The installed package maps sibling folders into `lstm_conformance` (pyproject's package-dir),
which import-linter's graph builder does not follow in an editable install; this reads the
same mapping. Every import counts, at the top or inside a function (a lazy import is still a
dependency), except those under `if TYPE_CHECKING:`.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def package_dirs() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {package: ROOT / folder for package, folder in config["package-dir"].items()}


def module_files() -> dict[str, Path]:
    """Module name -> source file, for every module of the installed package."""
    dirs = package_dirs()
    found = {}
    for package, folder in dirs.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package,) + parts)
            # a folder mapped to its own package (spec/ under lstm_conformance) is found once
            owner = max((p for p, d in dirs.items() if path.is_relative_to(d)), key=lambda p: len(dirs[p].parts))
            if owner == package:
                found[name] = path
    return found


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    package = module if is_package else module.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node):
        if _type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return targets


@dataclass
class Graph:
    imports: dict[str, set[str]] = field(default_factory=dict)  # module -> modules/packages it imports

    def internal(self, module: str) -> set[str]:
        """What `module` imports of our own package."""
        return {t for t in self.imports[module] if t in self.imports}

    def external(self, module: str) -> set[str]:
        return {t.split(".")[0] for t in self.imports[module] if not t.startswith("lstm_conformance")}

    def cycles(self, group=lambda m: m) -> list[list[str]]:
        """Strongly connected groups of more than one node, after mapping modules by `group`."""
        edges: dict[str, set[str]] = {}
        for module in self.imports:
            edges.setdefault(group(module), set())
            for target in self.internal(module):
                if group(target) != group(module):
                    edges[group(module)].add(group(target))
        return [sorted(c) for c in _strongly_connected(edges) if len(c) > 1]


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm."""
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    index, low, stack, on_stack, result = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            result.append(component)

    for node in list(edges):
        if node not in index:
            connect(node)
    return result


def build() -> Graph:
    files = module_files()
    known = set(files)
    graph = Graph()
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph.imports[module] = _imports(tree, module, path.name == "__init__.py", known)
    return graph
