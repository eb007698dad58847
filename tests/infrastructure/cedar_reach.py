"""Which functions can reach the Cedar engine, by static analysis of their imports.

`python -m tests.infrastructure.cedar_reach FUNCTION...` prints {function: reaches_cedar} as JSON
(run in its own interpreter by test_bundles.py). Follows Echo's own packages, lazy imports inside
functions included; skips `if TYPE_CHECKING:` blocks and a package's lazy `__getattr__` (what that
loads is judged by the names imported from the package).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# The modules that load cedarpy, and the lazily loaded names of echo_shared.authz that do.
_CEDAR_MODULES = {
    f"echo_shared.authz.{name}" for name in ("client", "engine", "catalog", "validation", "admin", "runtime")
}
_CEDAR_NAMES = {"AuthzClient", "PolicyCache", "MAX_BATCH", "MAX_LIST_CANDIDATES"}
_OWN_ROOTS = {
    "echo_shared": REPO_ROOT / "layers/shared",
    "echo_documents": REPO_ROOT / "layers/documents",
    "echo_retrieval": REPO_ROOT / "layers/ml",
}


def _module_file(module: str, package: str) -> Path | None:
    root = module.split(".")[0]
    base = REPO_ROOT / "functions" if root == package else _OWN_ROOTS.get(root)
    if base is None:
        return None
    path = base.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that can run: not under `if TYPE_CHECKING:`, nor in a package's `__getattr__`."""
    nodes: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            pending += node.orelse
            continue
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            continue
        nodes.append(node)
        pending += ast.iter_child_nodes(node)
    return nodes


def reaches_cedar(package: str) -> bool:
    """Whether any import reachable from the function's own modules loads the Cedar engine."""
    pending = [str(path) for path in (REPO_ROOT / "functions" / package).rglob("*.py")]
    seen: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in _runtime_nodes(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "echo_shared.authz" and _CEDAR_NAMES & {a.name for a in node.names}:
                    return True
                modules = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            if "cedarpy" in modules or _CEDAR_MODULES & set(modules):
                return True
            pending += [str(found) for module in modules if (found := _module_file(module, package))]
    return False


if __name__ == "__main__":
    print(json.dumps({package: reaches_cedar(package) for package in sys.argv[1:]}))
