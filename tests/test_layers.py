"""The house's rooms, enforced: imports point one way, and no module imports itself in a loop.

Layers, top to bottom (a module may import its own layer and the ones below):

    bot.cli, bot.run, bot.__main__       the process: wires everything together
    bot.adapters.<platform>,             receive -> translate -> core; render -> platform;
      bot.health, bot.startup            the HTTP health server and start-up retries beside them
    bot.core                             what the bot does; knows no platform
    bot.kb | bot.store                   decks and lookup | storage (independent of each other)
    bot.chat, bot.config,                shared value types, settings and helpers
      bot.typed_text, bot.logs, ...      that import nothing of the bot

Adapters do not import each other, and the core imports no chat or database library.
Imports under ``if TYPE_CHECKING:`` are annotations only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bot"
# Rank of each layer; peers share a rank but may not import each other (see INDEPENDENT).
LAYERS = {"process": 4, "adapters": 3, "core": 2, "kb": 1, "store": 1, "shared": 0}
INDEPENDENT = {frozenset({"kb", "store"})}
PLATFORM_LIBRARIES = ("discord", "slack_bolt", "slack_sdk", "aiosqlite", "asyncpg", "aiohttp")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


# Modules at the package's top level, by layer (a new one must be placed here: see the message below).
ROOT_MODULES = {"bot": "process", "bot.cli": "process", "bot.run": "process", "bot.__main__": "process",
                "bot.database": "process", "bot.blas": "process",
                "bot.health": "adapters", "bot.startup": "adapters",
                "bot.chat": "shared", "bot.config": "shared", "bot.typed_text": "shared", "bot.logs": "shared",
                "bot.log_privacy": "shared"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 or parts[1:] and parts[1] in ("adapters", "core", "kb", "store"):
        return parts[1]
    assert module in ROOT_MODULES, (f"{module} is in no layer: add it to ROOT_MODULES in tests/test_layers.py "
                                    "(process, adapters, core, kb, store or shared)")
    return ROOT_MODULES[module]


def _runtime_nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    nodes: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        nodes.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def imports_of(module: str) -> set[str]:
    """Names this module imports at run time (anywhere in it, also inside functions)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else _relative(module, node)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


def _relative(module: str, node: ast.ImportFrom) -> str:
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    return ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))


def bot_imports(module: str) -> set[str]:
    """This module's imports of other ``bot`` modules (a ``from package import module`` names the module)."""
    found = set()
    for name in imports_of(module):
        if name in MODULES and name != module:
            if any(other.startswith(name + ".") and other in imports_of(module) for other in MODULES):
                continue  # "from bot.core import buttons" counts as bot.core.buttons, not the package
            found.add(name)
    return found


GRAPH = {module: bot_imports(module) for module in MODULES}


def wrong_imports(module: str, graph: dict[str, set[str]]) -> list[str]:
    """Imports of ``module`` that point up the layers or sideways between independent rooms."""
    mine = layer_of(module)
    wrong = []
    for target in graph[module]:
        theirs = layer_of(target)
        if target != "bot" and (LAYERS[theirs] > LAYERS[mine] or frozenset({mine, theirs}) in INDEPENDENT):
            wrong.append(f"{target} ({theirs})")
    return sorted(wrong)


def find_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import loops in ``graph``, each as the path that closes it."""
    loops: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                loops.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return loops


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module: str) -> None:
    wrong = wrong_imports(module, GRAPH)
    assert not wrong, f"{module} ({layer_of(module)}) imports upward or sideways: {', '.join(wrong)}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) == "adapters" and m.count(".") >= 2))
def test_adapters_do_not_import_each_other(module: str) -> None:
    platform = module.split(".")[2]
    others = [t for t in GRAPH[module] if t.startswith("bot.adapters.") and t.split(".")[2] != platform]
    assert not others, f"{module} imports another adapter: {others}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) in ("core", "kb", "shared")))
def test_the_core_and_below_import_no_platform_library(module: str) -> None:
    used = [name for name in imports_of(module) if name.split(".")[0] in PLATFORM_LIBRARIES]
    assert not used, f"{module} imports {used}"


def test_no_import_loop_anywhere() -> None:
    loops = find_loops(GRAPH)
    assert not loops, "import loops: " + "; ".join(" -> ".join(loop) for loop in loops)


def test_the_checks_can_fail() -> None:
    """The store importing the core, kb importing the store, and a loop are each caught."""
    assert wrong_imports("bot.store.sqlite", {"bot.store.sqlite": {"bot.core.events", "bot.chat"}}) == [
        "bot.core.events (core)"]
    assert wrong_imports("bot.kb.library", {"bot.kb.library": {"bot.store.base"}}) == ["bot.store.base (store)"]
    assert find_loops({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert "bot.core.events" in GRAPH["bot.core.app"]  # imports are seen at all
    assert "bot.core.app" not in GRAPH["bot.core.catalog"]  # TYPE_CHECKING imports are not counted
