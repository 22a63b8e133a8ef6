"""The house rules of the code layout, checked from the source (docs/architecture.md).

- No import cycle among the project's own modules, and none hidden by an import inside a
  function: a function-level import of a project module is how a cycle hides. The one reason
  allowed is start-up cost (a CLI command that must not load Rasa or TensorFlow to list topics);
  such an import says so on its line or the line above with a `# deferred: <why>` comment.
- No module over 400 lines in handoff/, bot/, actions/ (one concept per module).
- Every handoff module imports on its own in a fresh interpreter, so no module works only
  because another happened to be imported first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import import_alone

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("handoff", "bot", "actions", "vocabulary", "understanding")
SIZE_LIMITED = ("handoff", "bot", "actions")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        folder = ROOT / package
        if folder.is_dir():
            for path in sorted(folder.rglob("*.py")):
                # Alembic's scripts (the archive's migrations) are loaded by Alembic from their
                # folder, not imported: revision files are named "0001_…" on purpose.
                if "migrations" not in path.relative_to(folder).parts:
                    found[module_name(path)] = path
    return found


MODULES = project_modules()


def resolve(importer: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> list[str]:
    """The project modules an import statement loads (a `from x import y` may name a module y)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = importer.split(".")
            anchor = anchor if is_package else anchor[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        names = [f"{base}.{alias.name}" for alias in node.names] + [base]
    targets = []
    for name in names:
        # `import a.b.c` loads a, a.b and a.b.c; the innermost project module is the edge.
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != importer:
            targets.append(name)
    return targets


def imports_of(name: str, path: Path) -> tuple[set[str], list[str]]:
    """(modules imported at module level, function-level imports of project modules)."""
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    is_package = path.name == "__init__.py"
    top: set[str] = set()
    nested: list[str] = []

    def visit(node: ast.AST, in_function: bool, in_type_check: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                targets = resolve(name, child, is_package)
                said = " ".join(lines[max(0, child.lineno - 2) : child.lineno])
                if in_function and targets and "# deferred:" not in said:
                    nested.append(f"{path.relative_to(ROOT)}:{child.lineno}")
                elif not in_type_check:
                    top.update(targets)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, True, in_type_check)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, in_function, True)
            else:
                visit(child, in_function, in_type_check)

    visit(tree, False, False)
    return top, nested


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def find_cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def walk(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH[module][0]):
            # A package's __init__ importing its own submodules is how a package exposes them.
            if state.get(target) == 1 and not module.startswith(target + "."):
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = walk(target)
                if cycle:
                    return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(GRAPH):
        if module not in state:
            cycle = walk(module)
            if cycle:
                return cycle
    return None


def test_the_project_modules_import_one_another_without_a_cycle() -> None:
    assert len(MODULES) > 60, "the walk found too few modules to be looking at the project"
    assert find_cycle() is None, f"import cycle: {' -> '.join(find_cycle() or [])}"


def test_no_project_module_is_imported_inside_a_function() -> None:
    nested = [place for _, (_, inner) in sorted(GRAPH.items()) for place in inner]
    assert not nested, f"function-level imports of project modules (a hidden cycle?): {nested}"


def test_no_module_is_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for name, path in MODULES.items()
        if name.split(".")[0] in SIZE_LIMITED
    }
    too_long = {path: lines for path, lines in sizes.items() if lines > MAX_LINES}
    assert len(sizes) > 50
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"


@pytest.mark.timeout(300)
def test_every_handoff_module_imports_alone_in_a_fresh_interpreter() -> None:
    handoff_modules = sorted(name for name in MODULES if name.split(".")[0] == "handoff")
    found = import_alone.failures(handoff_modules)
    assert len(handoff_modules) > 30
    assert not found, f"modules that fail to import on their own: {found}"


def test_no_test_module_imports_another() -> None:
    """What tests share lives in helper modules (tests/support/, tests/app/agents.py, conftest
    fixtures), never in a test module: importing one runs its module-level set-up and ties two
    suites' fates together (a test file renamed or split breaks another)."""
    importers = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                named = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            else:
                continue
            if any(
                n.startswith("tests.") and n.rpartition(".")[2].startswith("test_") for n in named
            ):
                importers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not importers, f"test modules imported by other modules: {importers}"
