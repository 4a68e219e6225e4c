"""SHA-256 of the Python source that turns a loaded deck into a task's result, for the cache key.

The rule: a task's result is made by the module that defines its ``simulate`` function, the measurement
code that module imports, and the code :func:`circuitsim.tasks.task.execute` runs to render and load the
deck. "Measurement code" is every module of :data:`MEASUREMENT_PACKAGES` (blocks, spice helpers, the
technology loader) reached from those roots through ``import`` statements, transitively; the statements
are read with :mod:`ast` (function-local imports included), nothing is imported. ``calibration/`` is not
followed: fitting and validation run on cached results, they do not make them.

Each module counts by its syntax tree without docstrings (:func:`ast.dump`, no line numbers), so editing a
constant, an expression or a call changes the hash and editing a comment, a docstring or the layout does
not. Digests are cached per file (path, modification time, size), so planning thousands of tasks reads
each file once and a file edited in a long-lived process is read again.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import sys
from pathlib import Path

import circuitsim
from circuitsim.errors import CircuitsimError

#: Packages whose modules count as measurement code when a task's roots import them.
MEASUREMENT_PACKAGES = ("circuitsim.blocks", "circuitsim.spice", "circuitsim.technology")
#: Modules every task runs through :func:`circuitsim.tasks.task.execute` (deck rendering, the session).
EXECUTE_MODULES = ("circuitsim.spice.netlist", "circuitsim.spice.session")

_PACKAGE_DIR = Path(circuitsim.__file__).resolve().parent


def _read_source(path: Path) -> bytes:
    return path.read_bytes()


def _is_measurement(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in MEASUREMENT_PACKAGES)


def _file_of(name: str) -> Path | None:
    """The source file of a module: ``circuitsim.*`` by its place in the package, others as imported."""
    if name == "circuitsim" or name.startswith("circuitsim."):
        base = _PACKAGE_DIR.joinpath(*name.split(".")[1:])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    return Path(path) if path and path.endswith(".py") else None


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:]
    return tree


def _imported_names(tree: ast.AST, name: str, is_package: bool) -> list[tuple[str, str]]:
    """What a module's ``import`` statements name, as (module, attribute) pairs: ``import a.b`` gives
    ``("a.b", "")``, ``from a import b`` gives ``("a", "b")`` (the module ``a.b`` if there is one, else ``a``)."""
    package = name if is_package else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, "") for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            out.extend((base, "" if alias.name == "*" else alias.name) for alias in node.names)
    return out


def _resolve(module: str, attribute: str) -> str:
    """The module an import pair depends on: the submodule ``module.attribute`` if it exists, else ``module``
    (so ``from circuitsim.blocks import buffers`` counts buffers.py, not the blocks package's __init__)."""
    if attribute and _file_of(f"{module}.{attribute}") is not None:
        return f"{module}.{attribute}"
    return module


@functools.lru_cache(maxsize=512)  # a few dozen modules, a few versions each
def _digest(name: str, path: Path, mtime_ns: int, size: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(SHA-256 of the docstring-free syntax tree, import pairs) of one version of a module file."""
    source = _read_source(path)
    try:
        tree = _strip_docstrings(ast.parse(source, filename=str(path)))
    except SyntaxError as exc:
        raise CircuitsimError(f"cannot hash the source of {name} ({path}): {exc}") from None
    digest = hashlib.sha256(ast.dump(tree, annotate_fields=True).encode()).hexdigest()
    return digest, tuple(_imported_names(tree, name, path.name == "__init__.py"))


def _module_digest(name: str, path: Path) -> tuple[str, tuple[tuple[str, str], ...]]:
    stat = path.stat()
    return _digest(name, path, stat.st_mtime_ns, stat.st_size)


def measurement_modules(module_name: str) -> dict[str, str]:
    """Module name -> source digest of everything a task whose ``simulate`` lives in ``module_name``
    depends on (the rule in the module docstring)."""
    found: dict[str, str] = {}
    todo = [module_name, *EXECUTE_MODULES]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = _file_of(name)
        if path is None:
            if name == module_name:
                raise CircuitsimError(f"cannot find the source of {name}; a task's simulate function must "
                                      "live in an importable .py module")
            continue  # a name bound by ``from package import attribute``, not a module
        found[name], imports = _module_digest(name, path)
        for module, attribute in imports:
            if module == "circuitsim" or _is_measurement(module):  # also ``from circuitsim import spice``
                target = _resolve(module, attribute)
                if _is_measurement(target):
                    todo.append(target)
    return found


def source_sha256(module_name: str) -> str:
    """One SHA-256 over :func:`measurement_modules` (sorted by name: the same in every process)."""
    modules = measurement_modules(module_name)
    payload = json.dumps(sorted(modules.items()), separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()
