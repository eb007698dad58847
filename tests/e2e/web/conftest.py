"""Browser e2e: Playwright (PyPI) driving Debian's Chromium against the deployed web app.

Playwright's own browser download is not used: `make browser` installs /usr/bin/chromium.
Screenshots land in .echo/artifacts/web/ (one per page); axe-core (npm) checks accessibility.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

REPO = Path(__file__).resolve().parents[3]
STATE = Path(os.environ.get("ECHO_STATE_DIR", REPO / ".echo"))
ARTIFACTS = STATE / "artifacts" / "web"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("ECHO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def web_url(stack: dict[str, Any]) -> str:
    url = stack.get("web_url")
    assert url, "stack.json has no web_url: deploy the web app with `make up`"
    return str(url)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser`"
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    opened: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(**options)
        context.set_default_timeout(60_000)  # the hosted login (argon2) is slow on a loaded 2-core box
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    return new_context()


def user(stack: dict[str, Any], tenant_key: str, name: str) -> dict[str, Any]:
    entry = stack.get(tenant_key)
    if not isinstance(entry, dict) or name not in entry.get("users", {}):
        pytest.fail(f"stack.json has no {tenant_key}.users.{name}: `make up` seeds it")
    return {"tenant": entry["tenant"], **entry["users"][name]}


def sign_in(page: Page, web_url: str, account: dict[str, Any], *, start: str = "documents") -> None:
    """Through the app's tenant step and the hosted login form (fields email, password)."""
    page.goto(web_url + start)
    expect(page.get_by_label("Organisation (tenant id)")).to_be_visible()
    page.get_by_label("Organisation (tenant id)").fill(account["tenant"])
    page.get_by_role("button", name="Continue to sign in").click()
    page.locator("input[name=email]").fill(account["email"])
    page.locator("input[name=password]").fill(account["password"])
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(web_url + start)))


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page (needs a bypass_csp context)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)
