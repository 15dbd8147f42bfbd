"""The core library never imports the experiment layer: myosem_experiments builds on myosem_core, not the reverse.
And every import inside either package, also a lazy one in a function body, names a module that exists (a module
moved from one package to the other leaves no import of its old path behind)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE, EXPERIMENTS = REPO / "myosem_core", "myosem_experiments"


def _is_experiments(name: str | None) -> bool:
    return bool(name) and (name == EXPERIMENTS or name.startswith(EXPERIMENTS + "."))


def experiment_imports(source: str, filename: str = "<source>") -> list[str]:
    """``line: statement`` of every import of the experiment layer in ``source``: ``import``/``from`` statements
    anywhere (also inside functions), and ``importlib.import_module`` / ``__import__`` of a literal name."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module] if node.level == 0 else []
        elif isinstance(node, ast.Call) and (getattr(node.func, "attr", None) == "import_module"
                                             or getattr(node.func, "id", None) in ("import_module", "__import__")):
            names = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        else:
            continue
        found += [f"{node.lineno}: {ast.unparse(node)}" for n in names if _is_experiments(n)]
    return found


def test_the_scan_finds_every_kind_of_import():
    src = ("import myosem_experiments\nfrom myosem_experiments.grid import MODELS\n"
           "def f():\n    import myosem_experiments.pipeline as p\n"
           "    importlib.import_module('myosem_experiments.report')\n    __import__('myosem_experiments')\n"
           "import myosem_experiments_other\nfrom .grid import x\nfrom myosem_core import experiments\n")
    assert [line.split(":")[0] for line in experiment_imports(src)] == ["1", "2", "4", "5", "6"]


def test_no_core_module_imports_the_experiment_layer():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 50, f"expected the core's modules under {CORE}"
    offenders = {str(p.relative_to(REPO)): hits for p in files
                 if (hits := experiment_imports(p.read_text(encoding="utf-8"), str(p)))}
    assert not offenders, f"myosem_core imports myosem_experiments: {offenders}"


def _module_exists(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every ``import`` / ``from`` of the two packages in the file at ``path``."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])  # the file's package
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(REPO).parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            out.append((node.lineno, name))
    return [(line, n) for line, n in out if n.split(".")[0] in (CORE.name, EXPERIMENTS)]


def test_every_import_inside_the_packages_names_an_existing_module():
    files = sorted(CORE.rglob("*.py")) + sorted((REPO / EXPERIMENTS).rglob("*.py"))
    missing = [f"{p.relative_to(REPO)}:{line}: {name}" for p in files for line, name in imported_modules(p)
               if not _module_exists(name)]
    assert not missing, f"imports of modules that do not exist: {missing}"
