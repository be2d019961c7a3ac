"""The core's and the page's import graphs: no cycles, no Streamlit in the core, each part importing only below it."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Lowest first: a module may import from its own rank and those below, never from one above.
RANKS = {"data": 0, "train": 1, "teach": 2, "charts": 2, "serve": 3, "cli": 4, "__main__": 4}
# Upward imports that stand for now, each with why it is not moved yet (none today); one that goes must leave it.
KNOWN_UPWARD: set[tuple[str, str]] = set()
# The modules of page/ by role, lowest first, with the same rule; app.py stands above them all.
PAGE_RANKS = {
    # What the page keeps, chooses between and decides, drawing nothing.
    "state": 0,
    "state_types": 0,
    "panels": 0,
    "pacing": 0,
    # The means the tabs draw with: the browser's code, charts, the store, downloads, the drawing pad, the controls.
    "browser": 1,
    "live_chart": 1,
    "plot": 1,
    "persist": 1,
    "take_home": 1,
    "drawpad": 1,
    "widgets": 1,
    # The tabs and the class board, with their parts.
    "training_view": 2,
    "landscape_view": 2,
    "step_view": 2,
    "step_values": 2,
    "draw_view": 2,
    "sweep_view": 2,
    "compare_view": 2,
    "history_view": 2,
    "board_view": 2,
    "lead_view": 2,
    # Serving app.py once every module above is imported.
    "launch": 3,
}


def module_name(path: Path, root: Path) -> str:
    """The dotted name of a module file below `root` (a package's __init__.py is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of `package` (below `root`) and the modules of the package it imports, anywhere in its code."""
    files = {module_name(path, root): path for path in sorted((root / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, name, is_package)
                # `from a.b import c` imports the module a.b.c where c is one, else a name that a.b defines.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            else:
                continue
            graph[name].update(found for found in map(lambda target: _known(target, files), targets) if found)
    return graph


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module a `from ... import` reads from, relative imports resolved against `importer`."""
    if not node.level:
        return node.module or ""
    # A package's own module is its __init__, so one dot there means the package itself.
    parts = importer.split(".") if is_package else importer.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def _known(target: str, files: dict) -> str | None:
    """`target`, or the nearest package above it, where that is one of `files`; None outside them."""
    while target and target not in files:
        target = target.rpartition(".")[0]
    return target or None


def rank(module: str, ranks: dict[str, int] = RANKS) -> int | None:
    """The rank in `ranks` of the sub-package (or top-level module) a module belongs to; None for the package itself."""
    parts = module.split(".")
    return ranks[parts[1]] if len(parts) > 1 else None


def parts_of(package: str) -> set[str]:
    """The names of the package's sub-packages and top-level modules."""
    parts = {path.parent.name for path in (ROOT / package).glob("*/__init__.py")}
    return parts | {path.stem for path in (ROOT / package).glob("*.py") if path.name != "__init__.py"}


def upward_imports(graph: dict[str, set[str]], ranks: dict[str, int]) -> set[tuple[str, str]]:
    """Each (importer, imported) pair of `graph` where the imported module ranks above its importer."""
    return {
        (importer, imported)
        for importer, imports in graph.items()
        for imported in imports
        if rank(importer, ranks) is not None
        and rank(imported, ranks) is not None
        and rank(imported, ranks) > rank(importer, ranks)
    }


def assert_no_cycle(graph: dict[str, set[str]]) -> None:
    """Fail naming an import cycle of `graph`, if there is one."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(reversed(error.args[1]))}")


def streamlit_imports(root: Path, package: str) -> list[str]:
    """Every place in the package's code that imports Streamlit, as `path:line`."""
    places = []
    for path in sorted((root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
                places.append(f"{path.relative_to(root)}:{node.lineno}")
    return places


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT, "twolayer")


@pytest.fixture(scope="module")
def page_graph() -> dict[str, set[str]]:
    return import_graph(ROOT, "page")


def test_the_core_has_no_import_cycle(graph):
    assert_no_cycle(graph)


def test_the_page_has_no_import_cycle(page_graph):
    assert_no_cycle(page_graph)


def test_nothing_in_the_core_imports_streamlit():
    assert streamlit_imports(ROOT, "twolayer") == [], "the core runs without the page: Streamlit belongs to page/"


def test_sub_packages_import_only_downward(graph):
    assert parts_of("twolayer") == set(RANKS), "every sub-package and top-level module of twolayer has a rank"
    upward = upward_imports(graph, RANKS)
    new = sorted(upward - KNOWN_UPWARD)
    assert not new, "imports up the order data -> train -> teach/charts -> serve -> cli:\n" + "\n".join(
        f"{importer} imports {imported}" for importer, imported in new
    )
    assert not KNOWN_UPWARD - upward, f"no longer imported, so take them off KNOWN_UPWARD: {KNOWN_UPWARD - upward}"


def test_page_modules_import_only_downward(page_graph):
    assert parts_of("page") == set(PAGE_RANKS), "every module of page/ has a rank in PAGE_RANKS"
    upward = sorted(upward_imports(page_graph, PAGE_RANKS))
    assert not upward, "imports up the page's order state -> means -> tabs -> launch:\n" + "\n".join(
        f"{importer} imports {imported}" for importer, imported in upward
    )


def test_the_graph_sees_imports_in_functions_relative_ones_and_submodules(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .a import thing\n")
    (package / "a.py").write_text("thing = 1\n\ndef later():\n    from pkg.sub import b\n")
    (package / "sub" / "__init__.py").write_text("from . import b\n")
    (package / "sub" / "b.py").write_text("from ..a import thing\nimport pkg.sub.c\nimport os\n")
    (package / "sub" / "c.py").write_text("from pkg import a\nfrom pkg.sub.b import name\n")
    assert import_graph(tmp_path, "pkg") == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.sub.b"},
        "pkg.sub": {"pkg.sub.b"},
        "pkg.sub.b": {"pkg.a", "pkg.sub.c"},
        "pkg.sub.c": {"pkg.a", "pkg.sub.b"},
    }
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(import_graph(tmp_path, "pkg")).prepare()


def test_the_graph_sees_imports_made_only_for_type_checking(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.b import B\n")
    (package / "b.py").write_text("from pkg import a\n")
    assert import_graph(tmp_path, "pkg") == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
