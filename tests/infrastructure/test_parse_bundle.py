"""The parse function's extraction library, bundled as CDK bundles it, runs in a bare interpreter.

Only the bundle (code root: functions/parse as `parse/`) and the shared and documents layers are on
the path, as in Lambda, so the sandbox's child process must find its modules the same way.
"""

# Greek text on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest

from stacks.bundling import REPO_ROOT, bundle_function, bundle_layer
from tests.infrastructure.test_bundles import zipped_size

PROBE = """
import json, sys
from parse.extraction import ExtractionLimits, extract_in_sandbox
from echo_documents.parsed import ExtractionFailed
loaded_in_caller = sorted(m for m in ("pypdfium2", "docx", "lxml", "markdown_it") if m in sys.modules)
results = {}
for path in sys.argv[1:]:
    try:
        parsed = extract_in_sandbox(open(path, "rb").read(), ExtractionLimits())
        results[path] = [parsed.media_type, parsed.blocks[0].text, parsed.blocks[-1].page]
    except ExtractionFailed as failure:
        results[path] = ["failed", failure.code.value]
print(json.dumps({"results": results, "loaded_in_caller": loaded_in_caller}))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("parse-bundle")
    paths = {"function": root / "function", "shared": root / "shared", "documents": root / "documents"}
    bundle_function("parse", paths["function"])
    bundle_layer("shared", paths["shared"])
    bundle_layer("documents", paths["documents"])
    bare = root / "bare-python"
    venv.EnvBuilder(with_pip=False).create(bare)
    paths["python"] = bare / "bin/python"
    return paths


def test_extraction_runs_from_the_bundle_in_a_bare_interpreter(
    bundle: dict[str, Path], tmp_path: Path
) -> None:
    # Given one file of each kind, the bare interpreter, and only the bundle and layers on its path
    files = {
        "pdf": REPO_ROOT / "tests/fixtures/documents/multilingual.pdf",
        "encrypted": REPO_ROOT / "tests/fixtures/documents/encrypted.pdf",
        "markdown": tmp_path / "notes.md",
        "html": tmp_path / "page.html",
    }
    files["markdown"].write_text("# Überblick\n\nΚαλημέρα, 東京.\n")
    files["html"].write_text(
        "<!DOCTYPE html><html><body><nav>menu</nav><h1>Titel</h1><p>Text</p></body></html>"
    )
    path = f"{bundle['function']}:{bundle['shared'] / 'python'}:{bundle['documents'] / 'python'}"
    # When the caller parses them through the sandbox
    result = subprocess.run(
        [str(bundle["python"]), "-c", PROBE, *(str(file) for file in files.values())],
        cwd=bundle["function"],
        env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    by_kind = {kind: output["results"][str(file)] for kind, file in files.items()}
    # Then every kind parses (or fails with its code) in the child, and the caller loads no parser
    assert by_kind["pdf"] == [
        "application/pdf",
        "Überblick\nDie Straßenbahn fährt täglich über die Brücke. Größere Änderungen müssen beim Bürgeramt\nbeantragt werden; die Gebühr beträgt fünfzig Euro.",
        3,
    ]
    assert by_kind["encrypted"] == ["failed", "encrypted"]
    assert by_kind["markdown"] == ["text/markdown", "Überblick", None]
    assert by_kind["html"] == ["text/html", "Titel", None]
    assert output["loaded_in_caller"] == []


def test_the_parse_bundle_stays_small(bundle: dict[str, Path]) -> None:
    unzipped = sum(path.stat().st_size for path in bundle["function"].rglob("*") if path.is_file())
    assert unzipped < 40 * 1024 * 1024
    assert zipped_size(bundle["function"]) < 15 * 1024 * 1024
