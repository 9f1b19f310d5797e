"""The house rules of the code's shape: imports point down, and a job's report is read through its type.

Both are checked on the source (``ast``), so a change that breaks them fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where the painting code returns its figures as a plain dict, which JobReport.from_dict (the one reader)
# turns into the typed report: the engine's library (nst), the CLI, and the job code that paints.
PRODUCERS = ("engine/nst/", "engine/__main__.py", "engine/demo.py", "engine/jobs/report.py", "engine/jobs/paint.py",
             "engine/jobs/drafts.py")


def _modules(*packages: str) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports, at module level or inside functions (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_module_of_bot_or_engine_imports_itself_round_a_circle() -> None:
    known = _modules("bot", "engine")
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_nothing_below_the_client_imports_it() -> None:
    """Cogs and helpers depend on bot.core.host.Host, not on StyleBot (not even for type checking)."""
    leaning = [path for path in (ROOT / "bot").rglob("*.py")
               if path.name not in ("client.py", "__main__.py") and "bot.client" in _import_lines(path)]
    assert leaning == []


def _import_lines(path: Path) -> str:
    return "\n".join(ast.unparse(n) for n in ast.walk(ast.parse(path.read_text()))
                     if isinstance(n, (ast.Import, ast.ImportFrom)))


def report_reads(source: str) -> list[int]:
    """Lines that read a report by key: ``report["x"]``, ``report.get("x")``, ``x.report["y"]``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        target = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
                isinstance(node.slice.value, str):
            target = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
                node.args and isinstance(node.args[0], ast.Constant):
            target = node.func.value
        name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
        if name.endswith("report"):
            lines.append(node.lineno)
    return lines


def test_no_module_outside_the_contract_reads_a_report_by_key() -> None:
    readers = {str(path.relative_to(ROOT)): report_reads(path.read_text())
               for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "engine").rglob("*.py")]
               if not str(path.relative_to(ROOT)).startswith(PRODUCERS)}
    assert {path: lines for path, lines in readers.items() if lines} == {}


def test_the_report_key_scanner_finds_what_it_is_for() -> None:
    source = 'a = report["seconds"]\nb = result.report.get("grid")\nc = report.seconds\nd = other["x"]\n'
    assert report_reads(source) == [1, 2]
