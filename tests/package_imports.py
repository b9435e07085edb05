"""What a module of the workflow imports, read from its source with ast (nothing is imported, no torch needed):
the sslrp modules it uses, with relative imports resolved, and the third-party top-level modules."""

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from conftest import SCRIPTS

STDLIB = set(sys.stdlib_module_names)
PACKAGE = SCRIPTS / "sslrp"


@dataclass(frozen=True)
class Import:
    """One imported module: its dotted name and the line of the import statement."""

    module: str
    line: int


def module_name(path):
    """The dotted name of a file of the package (sslrp/explain/lrp.py -> "sslrp.explain.lrp"); a step script's
    name is its file stem."""
    path = Path(path).resolve()
    if PACKAGE in path.parents:
        parts = path.relative_to(SCRIPTS).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return path.stem


def module_file(name):
    """The source file of an sslrp module or subpackage, or None when `name` is not one (an attribute)."""
    path = SCRIPTS.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _resolve(node, path):
    """The absolute module an ImportFrom names (relative ones resolved against `path`'s package)."""
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if Path(path).name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path):
    """Every module `path` imports, as `Import`s: `from sslrp.explain import lrp` gives sslrp.explain.lrp (a
    name that is a module counts as that module), `import numpy as np` gives numpy."""
    found = []
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node, path)
            submodules = [f"{module}.{a.name}" for a in node.names if module_file(f"{module}.{a.name}")]
            found += [Import(m, node.lineno) for m in submodules or [module]]
    return found


def third_party(path, seen=None):
    """Top-level third-party modules `path` imports, following its sslrp imports into the package."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    found = set()
    for imp in imports(path):
        top = imp.module.split(".")[0]
        if top == "sslrp":
            parts = imp.module.split(".")
            for i in range(2, len(parts) + 1):  # the subpackages' __init__ run too
                source = module_file(".".join(parts[:i]))
                if source:
                    found |= third_party(source, seen)
        elif top and top not in STDLIB:
            found.add(top)
    return found
