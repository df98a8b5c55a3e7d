"""The layer check: every import inside src/pension_collect goes to the same or
a lower layer, and no import circle exists, runtime or type-only.

The layer table is kept in one place, the ``layers`` block of
docs/architecture.md, and read from there.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGE = "pension_collect"

_BLOCK = re.compile(r"```text layers\n(?P<body>.*?)```", re.S)


@attrs.frozen
class Layer:
    name: str
    prefixes: tuple[str, ...]
    may_import: frozenset[str]


@attrs.frozen
class Edge:
    source: str
    target: str
    line: int
    type_only: bool


def layer_table(text: str | None = None) -> list[Layer]:
    """Parse the ``layers`` block: ``name: module prefixes | may import: layers``."""
    if text is None:
        text = ARCHITECTURE.read_text(encoding="utf-8")
    match = _BLOCK.search(text)
    if match is None:
        raise ValueError("docs/architecture.md has no ```text layers block")
    layers = []
    for raw in match.group("body").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, _, imports = line.partition("|")
        name, _, modules = head.partition(":")
        allowed = imports.split(":", 1)[1] if ":" in imports else imports
        layers.append(
            Layer(
                name=name.strip(),
                prefixes=tuple(modules.split()),
                may_import=frozenset(allowed.split()) | {name.strip()},
            )
        )
    return layers


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Line numbers of statements inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for stmt in node.body:
                    for sub in ast.walk(stmt):
                        if hasattr(sub, "lineno"):
                            lines.add(sub.lineno)
    return lines


def edges(src: Path = SRC) -> Iterator[Edge]:
    """Every import of a pension_collect module by a pension_collect module."""
    modules = {module_name(p, src) for p in (src / PACKAGE).rglob("*.py")}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        source = module_name(path, src)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        type_only = _type_checking_lines(tree)
        package = source if _is_package(path) else source.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                for alias in node.names:
                    sub = f"{mod}.{alias.name}"
                    targets.append(sub if sub in modules else mod)
            for target in targets:
                if target == PACKAGE or target.startswith(PACKAGE + "."):
                    yield Edge(source, target, node.lineno, node.lineno in type_only)


def layer_of(module: str, layers: Iterable[Layer]) -> Layer | None:
    best: tuple[int, Layer] | None = None
    for layer in layers:
        for prefix in layer.prefixes:
            if prefix.endswith(".__init__"):  # a package's own module, not what is below it
                matches = module == prefix.removesuffix(".__init__")
            else:
                matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), layer)
    return None if best is None else best[1]


def upward_imports(src: Path = SRC, layers: list[Layer] | None = None) -> list[str]:
    """Each import that runs up the table (or touches a module the table lacks)."""
    layers = layer_table() if layers is None else layers
    out = []
    for edge in edges(src):
        here, there = layer_of(edge.source, layers), layer_of(edge.target, layers)
        kind = "type-only import" if edge.type_only else "import"
        if here is None or there is None:
            missing = edge.source if here is None else edge.target
            out.append(f"{missing} is in no layer of docs/architecture.md")
        elif there.name not in here.may_import:
            out.append(
                f"{edge.source}:{edge.line} ({here.name}) {kind} of {edge.target} ({there.name})"
            )
    return sorted(set(out))


def import_circles(src: Path = SRC) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in edges(src):
        if edge.source != edge.target:
            graph.setdefault(edge.source, set()).add(edge.target)
            graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(circles)
