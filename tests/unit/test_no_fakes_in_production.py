"""Production code carries no test doubles: the in-memory fakes of the ports live in tests/fakes/.

A fake in a layer ships in every bundle that layer reaches (tamper helpers, a signer with a fixed
secret); here the source tree is read, so the check holds for every function and layer at once.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = [REPO / "layers", REPO / "functions"]
DOUBLE_PREFIXES = ("InMemory", "Fake", "Stub", "Mock")


def _production_modules() -> list[Path]:
    return sorted(
        path
        for root in PRODUCTION
        for path in root.rglob("*.py")
        if "tests" not in path.relative_to(REPO).parts
    )


def _doubles(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name.startswith(DOUBLE_PREFIXES)
    ]


def test_the_scan_reaches_the_production_tree() -> None:
    modules = _production_modules()
    assert len(modules) > 100
    assert REPO / "layers/shared/echo_shared/events/publisher.py" in modules


@pytest.mark.parametrize("path", _production_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_test_double_is_defined_in_production(path: Path) -> None:
    assert _doubles(path) == []
