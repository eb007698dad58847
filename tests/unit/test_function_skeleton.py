"""One skeleton for every function (docs/architecture.md, "Code layout inside a function").

The same role has the same file name everywhere, so a reader who knows one function knows all:
`handler.py` (the Lambda entry point), `dependencies.py` (adapters wired once per container),
`settings.py` (the environment, typed), `logic.py` (what the function does, over ports); an HTTP
function (`app.py`) has `routes.py` (or `*_routes.py` per surface) and `errors.py`, an event consumer
has its loop in `logic.py`. A function with several flows may make `logic` a package instead:
`logic/__init__.py` holds the ports (the service) and each flow is a module beside it.
Deviations still to fold are listed here and must shrink, never grow.
"""

from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
EVERY_FUNCTION = ("handler.py", "dependencies.py", "settings.py", "logic.py")
HTTP_FUNCTION = ("routes.py", "errors.py")
# Not yet in the skeleton (issue 10): file -> why it is missing today.
NOT_YET: dict[str, str] = {}


def _functions() -> list[Path]:
    return sorted(p for p in FUNCTIONS.iterdir() if (p / "__init__.py").exists())


def _expected(function: Path) -> list[str]:
    names = list(EVERY_FUNCTION)
    if (function / "app.py").exists():
        names += HTTP_FUNCTION
    return [f"{function.name}/{name}" for name in names]


def test_every_function_is_found() -> None:
    assert {"authorizer", "query", "audit_ingest", "web"} <= {p.name for p in _functions()}


@pytest.mark.parametrize("function", _functions(), ids=lambda p: p.name)
def test_a_function_has_the_skeletons_files(function: Path) -> None:
    missing = [name for name in _expected(function) if not _present(name) and name not in NOT_YET]
    assert missing == []


def _present(name: str) -> bool:
    path = FUNCTIONS / name
    if path.name == "logic.py":
        # Either one module or a package of flows, never both.
        package = path.with_suffix("") / "__init__.py"
        return path.exists() != package.exists()
    # A web app with many pages may split its routes by surface (page_routes.py, api_routes.py).
    return path.exists() or (path.name == "routes.py" and any(path.parent.glob("*_routes.py")))


def test_the_deviations_listed_are_still_deviations() -> None:
    folded = [name for name in NOT_YET if _present(name)]
    assert folded == [], "now in the skeleton: drop from NOT_YET"
