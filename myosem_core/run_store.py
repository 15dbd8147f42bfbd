"""One run store: every trained run's folder is named by everything its result depends on.

A run's key covers

- the config sections the run reads (dataclasses or plain values),
- the keys of the runs it builds on (their folder names),
- the data's identity: what the data files contain (:func:`data_identity`), never the path as typed, or
  the content of the windows a run was fitted on (:func:`windows_identity`), and
- the code that trains it (:func:`code_version`): a hash of the source of the modules named for the run and
  of every project module they import, with comments and docstrings left out, so that a changed training
  loop names a new folder and a reworded docstring keeps the old one.

    folder = run_folder(runs_root(), "myosem-stage2", label="ninapro-db1-rand", data=data_identity(cfg.data),
                        seed=0, sections={"stage2": s2, "protocol": split.config.key()},
                        code=("myosem_core.training.stage2",))
    with claimed(folder):  # one process trains it; another that needs it meanwhile waits, then reads it
        if not is_complete(folder): ...train, then write results.json last...
    s2 = read_section(folder, "stage2", Stage2Config)

Every folder holds ``config.json`` (what the key covers, readable) and, once complete, a marker file
(``results.json`` by default) written last. ``$MYOSEM_RETRAIN_BEFORE`` (a Unix time; the grid's ``--force``
sets it) makes every run completed before that moment count as absent, so it is trained again once,
whichever process needs it first.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Iterable

from .errors import DataError
from .io import read_json, write_json

#: packages whose modules enter a run's code version
PACKAGES = ("myosem_core", "myosem_experiments")
#: modules that move files or name things but never change a number: left out of every code version
NUMERICS_FREE = ("myosem_core.errors", "myosem_core.io", "myosem_core.paths", "myosem_core.run_store",
                 "myosem_core.presets", "myosem_core.viz")
RETRAIN_ENV = "MYOSEM_RETRAIN_BEFORE"
KEY_LENGTH = 12


# --- the key's parts -------------------------------------------------------------------------------------------

def canonical(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses as dicts, tuples as lists, paths as strings."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def digest(value: Any, length: int = KEY_LENGTH) -> str:
    """Short sha256 of ``value`` as canonical JSON (sorted keys)."""
    blob = json.dumps(canonical(value), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    return _file_sha256(Path(path))


def folder_content(folder: str | os.PathLike) -> str:
    """sha256 over the names and contents of every file under ``folder`` (hidden files left out).

    Each file is read once per process while its size and modification time stay the same.
    """
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise DataError(folder, None, "data folder not found; expected a folder of the dataset's files")
    h = hashlib.sha256()
    for p in sorted(p for p in root.rglob("*") if p.is_file() and not any(s.startswith(".") for s in
                                                                           p.relative_to(root).parts)):
        st = p.stat()
        h.update(f"{p.relative_to(root).as_posix()}\0{_file_digest(str(p), st.st_size, st.st_mtime_ns)}\n".encode())
    return h.hexdigest()[:16]


def data_identity(data) -> dict:
    """What a data config stands for: its fields, with the folder replaced by the content of its files.

    ``../shared/data/x``, its absolute path and a copy elsewhere with the same files are one identity.
    """
    out = canonical(data)
    folder = out.pop("data_dir", None)
    out["content"] = folder_content(folder) if folder else None
    return out


def array_content(*arrays) -> str:
    """sha256 of arrays' float32 bytes and shapes (prototypes, embeddings)."""
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.float32)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def windows_identity(ws) -> dict:
    """The data identity of a run fitted on exactly these windows: a hash of what they hold (samples, labels,
    subjects, repetitions, rate, kind, pose), with a readable summary beside it."""
    import numpy as np

    return {"content": windows_content(ws), "n_windows": int(len(ws)),
            "subjects": sorted(map(str, np.unique(ws.subject))),
            "repetitions": sorted(int(r) for r in np.unique(ws.repetition)),
            "classes": [ws.class_keys[int(c)] for c in np.unique(ws.y)]}


def windows_content(ws) -> str:
    """sha256 of a window set's samples, labels, subjects, repetitions, rate, kind and pose."""
    import numpy as np

    h = hashlib.sha256()
    for array in (ws.X, ws.y, ws.repetition, ws.pose):
        if array is not None:
            h.update(np.ascontiguousarray(array).tobytes())
    subjects = np.unique(ws.subject, return_inverse=True)[1]
    h.update(np.ascontiguousarray(subjects).tobytes())
    h.update(json.dumps([float(ws.fs), ws.signal_kind, list(ws.X.shape), list(ws.class_keys)]).encode())
    return h.hexdigest()[:16]


# --- code versions -------------------------------------------------------------------------------------------

def _module_path(name: str) -> Path | None:
    """The source file of project module ``name`` (a package's ``__init__.py``), or None outside the project."""
    if not name.startswith(PACKAGES):
        return None
    spec = importlib.util.find_spec(name)
    return Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if _module_path(module) and _module_path(module).name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _is_module(name: str) -> bool:
    try:
        return _module_path(name) is not None
    except (ImportError, ValueError):
        return False


def _imports(module: str, tree: ast.AST) -> set[str]:
    """Project modules that ``module`` imports anywhere in its source (functions' lazy imports included)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if _is_module(a.name)}
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if _is_module(sub):
                    out.add(sub)
                elif _is_module(base):
                    out.add(base)
    return out


def _normalised_source(tree: ast.AST) -> str:
    """The module's AST without docstrings, as text: comments, blank lines and docstrings do not count."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _numerics_free(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in NUMERICS_FREE)


@functools.lru_cache(maxsize=None)
def _parsed(name: str) -> tuple[str, frozenset[str]]:
    path = _module_path(name)
    if path is None:
        raise DataError("<code version>", name, "not a module of this project")
    tree = ast.parse(path.read_text(), filename=str(path))
    imports = frozenset(_imports(name, tree))
    return _normalised_source(tree), imports


def code_modules(*modules: str) -> list[str]:
    """``modules`` and every project module they import, transitively (numerics-free ones left out), sorted."""
    seen: set[str] = set()
    todo = [m for m in modules if not _numerics_free(m)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [m for m in _parsed(name)[1] if m not in seen and not _numerics_free(m)]
    return sorted(seen)


@functools.lru_cache(maxsize=None)
def code_version(*modules: str) -> str:
    """Hash of the normalised source of :func:`code_modules` of ``modules``."""
    return digest({m: hashlib.sha256(_parsed(m)[0].encode()).hexdigest() for m in code_modules(*modules)})


# --- folders -------------------------------------------------------------------------------------------------

def run_record(kind: str, *, data: Any = None, seed: int | None = None, sections: dict | None = None,
               upstream: Iterable[str | os.PathLike] = (), code: Iterable[str] = ()) -> dict:
    """Everything a run's key covers, as JSON data (a folder's ``config.json``)."""
    code = tuple(code)
    return {"kind": kind, "data": canonical(data), "seed": seed, "sections": canonical(sections or {}),
            "upstream": [Path(u).name for u in upstream],
            "code": {"modules": list(code), "version": code_version(*code) if code else None}}


def run_key(kind: str, **parts) -> str:
    """The one run key: a short hash of :func:`run_record`."""
    return digest(run_record(kind, **parts))


def run_folder(root: str | os.PathLike, kind: str, *, label: str = "", **parts) -> Path:
    """``<root>/<kind>[-<label>]-<key>``, created, with its ``config.json`` (the :func:`run_record`)."""
    record = run_record(kind, **parts)
    key = digest(record)
    folder = Path(root) / "-".join(p for p in (kind, label, key) if p)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "config.json").is_file():
        write_json(folder / "config.json", {**record, "key": key})
    return folder


def record_sections(folder: str | os.PathLike, kind: str, **sections) -> None:
    """Make sure a folder a run was saved into names its config sections: a folder of the store already does;
    any other (a training called with a folder of its own) gets a ``config.json`` without a key."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        write_json(path, run_record(kind, sections=sections))


def is_complete(folder: str | os.PathLike, marker: str = "results.json") -> bool:
    """True when the run's marker file exists and was written after ``$MYOSEM_RETRAIN_BEFORE`` (if set)."""
    path = Path(folder) / marker
    if not path.is_file():
        return False
    before = os.environ.get(RETRAIN_ENV)
    return not before or path.stat().st_mtime >= float(before)


@contextlib.contextmanager
def claimed(folder: str | os.PathLike):
    """Hold ``folder``'s lock while its run is checked for and trained: another process (a notebook, a grid
    worker) that needs the same run meanwhile waits, then reads it back instead of training it a second time.

        with claimed(folder):
            run = load(folder) if is_complete(folder) else train(..., folder)

    The lock is the operating system's (``filelock``, in ``<runs>/.locks/``), released when its holder ends for
    any reason. Under torchrun the replicas train one run together (rank 0 saves it), so none is taken there.
    """
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        yield
        return
    from filelock import FileLock

    folder = Path(folder)
    locks = folder.parent / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(locks / f"{folder.name}.lock"):
        yield


def read_record(folder: str | os.PathLike) -> dict:
    """A run folder's ``config.json``."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise DataError(path, None, "run folder without config.json; it was not written by the run store")
    return read_json(path)


def read_section(folder: str | os.PathLike, name: str, cls: type):
    """Section ``name`` of a run folder's ``config.json`` as a ``cls`` instance, read with the presets' typed
    loader (every field checked, nested dataclasses and tuples rebuilt)."""
    from .typed import build_config

    sections = read_record(folder).get("sections", {})
    if name not in sections:
        raise DataError(Path(folder) / "config.json", f"sections.{name}", f"missing; expected a {cls.__name__}")
    return build_config(cls, sections[name], f"{Path(folder) / 'config.json'}: sections.{name}")
