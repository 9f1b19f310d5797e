"""The loop's types are a leaf: the job runtime names them without torch, and no engine module imports itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def test_the_loop_types_and_the_job_runtime_import_without_torch() -> None:
    code = ("import sys; sys.modules['torch'] = None; "
            "import engine.nst.types, engine.jobs.runtime, engine.jobs.paint")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def module_imports(path: Path, modules: set[str]) -> set[str]:
    """The engine modules ``path`` imports at its top level, type-checking-only imports included."""
    tree = ast.parse(path.read_text())
    nodes = [n for top in tree.body for n in ([top, *ast.walk(top)] if isinstance(top, ast.If) else [top])]
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found & modules


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                found.append([*stack[stack.index(target):], target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    return found


def test_no_engine_module_imports_itself_round_a_circle() -> None:
    paths = {".".join(p.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (PROJECT_ROOT / "engine").rglob("*.py")}
    graph = {m: module_imports(p, set(paths)) - {m} for m, p in paths.items()}
    assert graph["engine.nst.stylize"] >= {"engine.nst.optimise", "engine.nst.types"}  # the scan sees imports
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]  # and would see a circle
