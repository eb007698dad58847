"""Web app figures, warm, through the gateway, in Debian's Chromium (Playwright):

- time to first contentful paint of the documents page, and until its list is drawn; baseline: the
  signed-out page (one function call, no API call behind it), measured in the same run;
- time from pressing Ask to the answer on screen; baseline: the same question posted straight to
  `POST /query` with a user token (no browser, no BFF hop), when the documents API is deployed.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from tests.bench.common import contract, summary, timed_ms
from tests.e2e.oidc import RelyingParty
from tests.e2e.web.conftest import CHROMIUM, CHROMIUM_ARGS, sign_in

SAMPLES = 10
QUESTION = "What does Echo keep in its audit log?"
_FCP = "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
_PAINTED = "() => performance.getEntriesByName('first-contentful-paint').length > 0"


def _fcp(page: Any) -> float | None:
    page.wait_for_function(_PAINTED, timeout=10_000)
    value = page.evaluate(_FCP)
    return float(value) if value else None


def _ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 2) if baseline else None


def run() -> dict[str, Any]:
    stack = contract()
    web_url = stack["web_url"]
    admin = {"tenant": stack["demo"]["tenant"], **stack["demo"]["users"]["admin"]}
    results: dict[str, Any] = {"samples": SAMPLES}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context().new_page()
        sign_in(page, web_url, admin)
        baseline_fcp, documents_fcp, documents_drawn = [], [], []
        for _ in range(SAMPLES + 2):  # the first two warm the functions and the browser cache
            page.goto(web_url + "signed-out")
            baseline_fcp.append(_fcp(page))
            started = time.perf_counter()
            page.goto(web_url + "documents")
            documents_fcp.append(_fcp(page))
            page.wait_for_function("() => document.getElementById('list-status').textContent !== 'Loading…'")
            documents_drawn.append((time.perf_counter() - started) * 1000)
        results["signed_out_fcp"] = summary([v for v in baseline_fcp[2:] if v])
        results["documents_fcp"] = summary([v for v in documents_fcp[2:] if v])
        results["documents_list_drawn"] = summary(documents_drawn[2:])
        results["documents_fcp_ratio"] = _ratio(
            results["documents_fcp"]["p50_ms"], results["signed_out_fcp"]["p50_ms"]
        )
        page.goto(web_url + "ask")
        answered = []
        for _ in range(SAMPLES + 2):
            page.get_by_label("Your question").fill(QUESTION)
            started = time.perf_counter()
            page.get_by_role("button", name="Ask").click()
            page.wait_for_function(
                "() => { const a = document.getElementById('answer');"
                " return a.textContent && !a.textContent.startsWith('Looking'); }"
            )
            answered.append((time.perf_counter() - started) * 1000)
        text = page.locator("#answer").inner_text()
        browser.close()
    if text.startswith("No answer"):
        results["answer"] = {"unavailable": text[:200]}
        return results
    results["answer_on_screen"] = summary(answered[2:])
    rp = RelyingParty(stack)
    rp.oauth.scope = "openid email documents:read"  # the demo public client's documents scope
    token = rp.tokens_for(admin["email"], admin["password"])["access_token"]
    http = httpx.Client(base_url=stack["api_url"], timeout=30, headers={"Authorization": f"Bearer {token}"})
    direct = [
        timed_ms(lambda: http.post("query", json={"question": QUESTION}).raise_for_status())
        for _ in range(SAMPLES + 2)
    ]
    results["query_direct"] = summary(direct[2:])
    results["answer_ratio"] = _ratio(results["answer_on_screen"]["p50_ms"], results["query_direct"]["p50_ms"])
    return results


def render(figures: dict[str, Any]) -> list[str]:
    lines = [
        "## Web app (Chromium, warm, through the gateway)",
        "",
        "| measure | p50 ms | p99 ms | baseline (same run) | ratio |",
        "|---|---|---|---|---|",
    ]

    def row(name: str, key: str, baseline_key: str | None = None, ratio_key: str | None = None) -> None:
        if key not in figures:
            return
        base = figures.get(baseline_key or "", {})
        base_text = f"{base['p50_ms']} ms" if base else "-"
        ratio = figures.get(ratio_key or "")
        lines.append(
            f"| {name} | {figures[key]['p50_ms']} | {figures[key]['p99_ms']} | {base_text} | {ratio or '-'} |"
        )

    row("documents page, first contentful paint", "documents_fcp", "signed_out_fcp", "documents_fcp_ratio")
    row("documents page, list drawn", "documents_list_drawn")
    row("answer on screen after Ask", "answer_on_screen", "query_direct", "answer_ratio")
    if "unavailable" in figures.get("answer", {}):
        lines.append(f"| answer on screen | - | - | - | {figures['answer']['unavailable']} |")
    return lines
