"""The dependency direction: bridge.core is pure (numpy + stdlib), every command loads lazily, each layer
imports only the layers below it, and no two modules import each other (directly or round a cycle)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from conftest import REPO

HEAVY = ("tensorflow", "pygame", "librosa", "pythonosc", "mido", "rtmidi", "PIL", "soundfile", "ai_edge_litert",
         "zeroconf")


def imported_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_imports_no_third_party_io_library():
    modules = imported_after("import bridge.core.engine, bridge.core.replay, bridge.core.protocol")
    core = [m for m in modules if m.startswith("bridge.core")]
    assert core, "probe imported nothing"
    loaded = {m.split(".")[0] for m in modules}
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_the_cli_parser_loads_no_heavy_library():
    modules = imported_after("import bridge.cli; bridge.cli.build_parser()")
    assert not {m.split(".")[0] for m in modules} & set(HEAVY)


# What each package of bridge may import besides itself. commands and cli sit on top and may import
# any of them; run-time code never imports the benchmarks or the tests, except the `bench` command.
MAY_IMPORT = {
    "core": set(),
    "adapters": {"core"},
    "training": {"core", "adapters"},
    "app": {"core", "adapters"},
    "ui": {"core", "adapters", "app"},
}
OUTSIDE_THE_PACKAGE = {"bridge.commands.bench": {"benchmarks"}}


def bridge_modules() -> dict[str, Path]:
    modules = {}
    for path in (REPO / "bridge").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(tree: ast.AST, *, with_type_checking: bool) -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if (isinstance(node, ast.If) and not with_type_checking
                and "TYPE_CHECKING" in ast.unparse(node.test)):
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        yield from _imports(node, with_type_checking=with_type_checking)


def imports_of(path: Path, *, with_type_checking: bool) -> set[str]:
    """Every absolute import in the file, at module level or inside functions (`from a import b` gives
    both `a` and `a.b`, since b may be a module)."""
    return set(_imports(ast.parse(path.read_text(encoding="utf-8")), with_type_checking=with_type_checking))


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for module, path in sorted(bridge_modules().items()):
        layer = module.split(".")[1] if "." in module else ""
        for name in sorted(imports_of(path, with_type_checking=True)):
            top = name.split(".")[0]
            if top in ("benchmarks", "tests", "conftest") and top not in OUTSIDE_THE_PACKAGE.get(module, set()):
                wrong.append(f"{module} imports {name}")
            if layer in MAY_IMPORT and top == "bridge" and name.count(".") >= 1:
                target = name.split(".")[1]
                if target != layer and target in {*MAY_IMPORT, "commands", "cli"} and target not in MAY_IMPORT[layer]:
                    wrong.append(f"{module} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    modules = bridge_modules()
    graph = {module: {name for name in imports_of(path, with_type_checking=False) if name in modules} - {module}
             for module, path in modules.items()}
    cycles = [cycle for cycle in _strongly_connected(graph) if len(cycle) > 1]
    assert not cycles, cycles


def test_the_import_checks_see_a_layer_violation_and_a_cycle(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("from bridge.ui.canvas_app import CanvasApp\ndef f():\n    import bridge.app.config\n")
    assert {"bridge.ui.canvas_app", "bridge.app.config"} <= imports_of(bad, with_type_checking=False)
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"], ["d"]]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, each sorted; a component of two or more is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)
