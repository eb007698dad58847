"""`make bench`: run every benchmark section against the deployed local stack, write the results.

Results: .echo/bench/results.json (all figures) and docs/benchmarks.md (the summary tables).
`python -m tests.bench SECTION ...` runs only the named sections and merges their figures into the
previous results, so one area can be re-measured without re-running the others. A section module
may define `render(figures) -> list[str]` (markdown lines); otherwise its figures are shown as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from typing import Any

from tests.bench import audit_bench, platform_bench
from tests.bench.common import REPO, STATE

SECTIONS = {
    "deploy": platform_bench.deploy_timings,
    "direct_invoke": platform_bench.invoke_latency,
    "gateway": platform_bench.gateway_latency,
    "init": platform_bench.init_time,
    "audit_throughput": audit_bench.run,
}
OPTIONAL_SECTIONS = {"authz": "tests.bench.authz_bench", "identity": "tests.bench.identity_bench"}
OPTIONAL_SECTIONS["parse"] = "tests.bench.parse_bench"
OPTIONAL_SECTIONS["retrieval"] = "tests.bench.retrieval_bench"
OPTIONAL_SECTIONS["documents"] = "tests.bench.documents_bench"
OPTIONAL_SECTIONS["web"] = "tests.bench.web_bench"
OPTIONAL_SECTIONS["audit_verify"] = "tests.bench.audit_verify_bench"
RESULTS = STATE / "bench" / "results.json"


def collect(only: set[str]) -> dict[str, Any]:
    previous = json.loads(RESULTS.read_text()) if only and RESULTS.exists() else {}
    results: dict[str, Any] = {
        **previous,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
    }
    sections = dict(SECTIONS)
    for name, module in OPTIONAL_SECTIONS.items():
        if (REPO / (module.replace(".", "/") + ".py")).exists():
            sections[name] = importlib.import_module(module).run
    unknown = only - set(sections)
    if unknown:
        raise SystemExit(f"unknown bench sections {sorted(unknown)}; known: {sorted(sections)}")
    for name, section in sections.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        print(f"  … {name}", end="", flush=True)
        results[name] = section()
        print(f"\r  ✓ {name} ({time.perf_counter() - started:.1f}s)")
    return results


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def render(results: dict[str, Any]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {results['measured_at']} by `make bench` on {results['machine']['cpus']} cores "
        f"(Python {results['machine']['python']}), LocalStack offline. One run, except the sections named below;",
        "raw numbers in `.echo/bench/results.json`.",
        "",
        "## Platform",
        "",
        "Timings of the latest `make up` steps that did work (a redeploy without changes shows as such).",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    lines += [f"| {step} | {seconds} |" for step, seconds in results.get("deploy", {}).items()]
    lines += [
        "",
        "## Functions: direct invoke, bundle size, init",
        "",
        "Cold invoke: through LocalStack's executor after a configuration change (a fresh process).",
        "Handler import: bare runtime, nothing written beside the code (as on Lambda's read-only",
        "file system), as shipped (precompiled bytecode) and, in the same run, the same bundle without",
        "bytecode (how bundles shipped before). Sizes: zipped code and zipped layers as bundled.",
        "",
        "| function | cold invoke ms | warm p50 ms | warm p99 ms | code zipped | layers zipped "
        "| import ms (goal) | without bytecode ms | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for function, figures in results.get("direct_invoke", {}).items():
        init = results.get("init", {}).get(function, {})
        goal = f" (≤ {init['goal_ms']})" if init.get("goal_ms") else ""
        lines.append(
            f"| {function} | {figures['cold_ms']} | {figures['warm']['p50_ms']} | {figures['warm']['p99_ms']} "
            f"| {_kib(init.get('code_zipped_bytes', figures['code_zipped_bytes']))} "
            f"| {_kib(init.get('layers_zipped_bytes', figures['layers_zipped_bytes']))} "
            f"| {init.get('import_ms', '-')}{goal} | {init.get('import_ms_without_bytecode', '-')} "
            f"| {init.get('ratio', '-')} |"
        )
    lines += [
        "",
        "## Through API Gateway",
        "",
        "| route | cold ms | warm p50 ms | warm p99 ms |",
        "|---|---|---|---|",
    ]
    for route, figures in results.get("gateway", {}).items():
        warm = figures.get("warm", figures)
        lines.append(f"| {route} | {figures.get('cold_ms', '-')} | {warm['p50_ms']} | {warm['p99_ms']} |")
    if "audit_throughput" in results:
        lines += ["", *section_lines("audit_throughput", results["audit_throughput"])]
    for optional in OPTIONAL_SECTIONS:
        if optional in results:
            lines += ["", *section_lines(optional, results[optional])]
    return "\n".join(lines) + "\n"


def section_lines(name: str, figures: Any) -> list[str]:
    """One optional (or the audit throughput) section's markdown, as `render` writes it."""
    if name == "audit_throughput":
        return audit_bench.render(figures)
    module = importlib.import_module(OPTIONAL_SECTIONS[name])
    if hasattr(module, "render"):
        return list(module.render(figures))
    return [f"## {name}", "", "```json", json.dumps(figures, indent=2), "```"]


PLATFORM_HEADINGS = {
    "deploy": "## Platform",
    "direct_invoke": "## Functions: direct invoke, bundle size, init",
    "init": "## Functions: direct invoke, bundle size, init",
    "gateway": "## Through API Gateway",
}


def _blocks(markdown: str) -> tuple[str, dict[str, str]]:
    preamble, *parts = markdown.split("\n## ")
    return preamble, {("## " + part).splitlines()[0]: ("## " + part).rstrip("\n") for part in parts}


def splice(existing: str, results: dict[str, Any], measured: set[str]) -> str:
    """The existing summary with only the measured sections' `## ` blocks replaced (or added).

    A partial run merges its figures into the previous raw results, but those live in .echo/ and a
    fresh clone has none: rendering the summary whole would blank every section it did not measure.
    """
    preamble, blocks = _blocks(existing)
    _, fresh = _blocks(render(results))
    headings = {PLATFORM_HEADINGS.get(name) or section_lines(name, results[name])[0] for name in measured}
    for heading in sorted(headings, key=list(fresh).index):
        blocks[heading] = fresh[heading]
    note = f"Re-measured {results['measured_at']} by `python -m tests.bench {' '.join(sorted(measured))}`."
    return "\n".join([preamble.rstrip("\n"), note, "", "\n\n".join(blocks.values())]) + "\n"


def main() -> int:
    only = set(sys.argv[1:])
    results = collect(only)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    summary = REPO / "docs/benchmarks.md"
    if only and summary.exists():
        summary.write_text(splice(summary.read_text(), results, only))
    else:
        summary.write_text(render(results))
    print(f"wrote {RESULTS} and docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
