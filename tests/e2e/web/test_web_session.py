"""The web app in a real browser: sign-in through the hosted login, pages, admin gating, CSRF, sign-out."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, expect

from tests.e2e.web.conftest import PHONE, axe_violations, describe, screenshot, sign_in, user

CSRF_LESS_POST = """async ([url, body]) => {
  const response = await fetch(url, {method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  return {status: response.status, body: await response.json().catch(() => null)};
}"""
FORM_POST = """async ([url, fields]) => {
  const response = await fetch(url, {method: 'POST', credentials: 'same-origin', redirect: 'manual',
    body: new URLSearchParams(fields)});
  return {status: response.status};
}"""


def test_admin_signs_in_through_the_hosted_login_and_holds_only_a_host_cookie(
    context: BrowserContext, stack: dict[str, Any], web_url: str
) -> None:
    # Given the demo admin and a fresh browser
    page = context.new_page()
    # When they open the app, pick the tenant and sign in on the hosted login form
    sign_in(page, web_url, user(stack, "demo", "admin"))
    # Then they are on the documents page, with the admin pages in the menu (Cedar allowed them)
    expect(page.get_by_role("heading", name="Documents", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Users", "Policies", "Logs"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    # And the browser holds one HttpOnly __Host- cookie for the app, and no token anywhere in JS
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["__Host-echo_web"]
    assert session["httpOnly"]
    assert session["secure"]
    assert session["sameSite"] == "Lax"
    assert session["path"] == "/"
    assert "__Host-echo_web_login" not in cookies
    storage = page.evaluate("() => JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}])")
    assert "eyJ" not in storage  # no JWT is visible to scripts
    assert "__Host-echo_web" not in storage
    screenshot(page, "documents-admin")


def test_activity_shows_the_callers_own_trail_and_the_chain_status(
    context: BrowserContext, stack: dict[str, Any], web_url: str
) -> None:
    page = context.new_page()
    admin = user(stack, "demo", "admin")
    sign_in(page, web_url, admin, start="activity")
    # The sign-in reaches the audit log asynchronously (bus -> queue -> ingest): reload until it shows.
    deadline = time.monotonic() + 45
    while "user.logged_in" not in page.locator("main").inner_text() and time.monotonic() < deadline:
        time.sleep(2)
        page.reload()
    rows = page.locator("#activity tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#activity")).to_contain_text("user.logged_in")
    for resource in page.locator("#activity tbody tr td:nth-child(4)").all_inner_texts():
        assert resource  # every row names its resource
    expect(page.locator("#chain-status")).to_contain_text("audit chain verifies")
    screenshot(page, "activity")


def test_admin_pages_list_users_policies_and_logs(
    context: BrowserContext, stack: dict[str, Any], web_url: str
) -> None:
    page = context.new_page()
    sign_in(page, web_url, user(stack, "demo", "admin"), start="admin/users")
    member = user(stack, "demo", "member")
    expect(page.locator("#users")).to_contain_text(member["email"])
    expect(page.get_by_role("button", name=f"Disable {member['email']}")).to_be_visible()
    screenshot(page, "admin-users")

    page.get_by_role("link", name="Policies").click()
    expect(page.locator("#active-version")).to_have_text(re.compile(r"^v\d+$"))
    screenshot(page, "admin-policies")
    # A proposal that does not validate is refused with Cedar's reasons shown
    page.get_by_label("Cedar policies").fill('permit (principal, action == Action::"no:such", resource);')
    page.get_by_role("button", name="Validate and store").click()
    expect(page.get_by_role("alert")).to_contain_text("not stored")

    page.get_by_role("link", name="Logs").click()
    page.get_by_label("Event type").fill("user.logged_in")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"admin/logs\?type=user\.logged_in"))
    screenshot(page, "admin-logs")
    bad = page.goto(web_url + "admin/logs?since=not-a-time")
    assert bad is not None
    expect(page.get_by_role("alert")).to_contain_text("refused")


def test_a_member_cannot_open_admin_pages_even_by_url(
    context: BrowserContext, stack: dict[str, Any], web_url: str
) -> None:
    page = context.new_page()
    sign_in(page, web_url, user(stack, "demo", "member"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="My activity")).to_be_visible()
    for name in ("Users", "Policies", "Logs"):
        expect(nav.get_by_role("link", name=name)).to_have_count(0)
    for path in ("admin/users", "admin/policies", "admin/logs", "admin/policies?version=v1"):
        response = page.goto(web_url + path)
        assert response is not None
        assert response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    screenshot(page, "member-admin-refused")
    # Nor can they act as an admin by posting the admin forms themselves (with a valid CSRF token)
    page.goto(web_url + "activity")
    csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
    admin = user(stack, "demo", "admin")
    posted = page.evaluate(
        FORM_POST, [web_url + f"admin/users/{admin['user_id']}/disable", {"csrf_token": csrf}]
    )
    assert posted["status"] == 403
    expect(page.locator("#chain-status")).to_contain_text("for tenant auditors and administrators")


def test_posts_without_the_csrf_token_are_refused(
    context: BrowserContext, stack: dict[str, Any], web_url: str
) -> None:
    page = context.new_page()
    sign_in(page, web_url, user(stack, "demo", "member"))
    # The browser sends the session cookie with these same-origin requests; only the token is missing.
    for path, body in (
        ("api/query", {"question": "what is echo?"}),
        ("api/documents", {"filename": "a.txt"}),
    ):
        refused = page.evaluate(CSRF_LESS_POST, [web_url + path, body])
        assert refused["status"] == 403, path
        assert refused["body"]["error"]["code"] == "csrf_rejected"
    for path in ("logout", "admin/policies/v1/activate"):
        assert page.evaluate(FORM_POST, [web_url + path, {}])["status"] == 403, path
    # Still signed in: the refused sign-out did nothing
    page.goto(web_url + "documents")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_sign_out_ends_the_app_session_and_the_identity_session(
    new_context: Callable[..., BrowserContext], stack: dict[str, Any], web_url: str
) -> None:
    context = new_context()
    page = context.new_page()
    member = user(stack, "demo", "member")
    sign_in(page, web_url, member)
    old_cookie = next(c for c in context.cookies() if c["name"] == "__Host-echo_web")
    # When they sign out of the app and confirm on the identity service's page
    page.get_by_role("button", name="Sign out").click()
    confirm = page.locator("form button[type=submit]")
    if "/logout" in page.url:
        confirm.click()
    page.wait_for_url(re.compile(re.escape(web_url + "signed-out")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Signed out")
    # Then the app asks them to sign in again, and so does the identity service (no silent sign-in)
    page.goto(web_url + "documents")
    page.get_by_role("button", name="Continue to sign in").click()
    expect(page.locator("input[name=password]")).to_be_visible()
    # And the old cookie, replayed from elsewhere, opens nothing
    replay = new_context()
    replay.add_cookies([old_cookie])
    replayed = replay.new_page()
    response = replayed.goto(web_url + "api/documents")
    assert response is not None
    assert response.status == 401


def test_pages_have_no_serious_accessibility_violations_and_fit_a_phone(
    new_context: Callable[..., BrowserContext], stack: dict[str, Any], web_url: str
) -> None:
    # axe is injected as a script tag, which the app's CSP (rightly) forbids: this context bypasses it.
    context = new_context(bypass_csp=True, viewport=PHONE)
    page = context.new_page()
    page.goto(web_url + "login")
    assert not axe_violations(page), describe(axe_violations(page))
    sign_in(page, web_url, user(stack, "demo", "admin"))
    failures = {}
    for path in ("documents", "ask", "activity", "admin/users", "admin/policies", "admin/logs"):
        page.goto(web_url + path)
        page.wait_for_load_state("networkidle")
        found = axe_violations(page)
        if found:
            failures[path] = found
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{path} is {width}px wide on a phone"
        if path in ("documents", "ask"):
            screenshot(page, f"phone-{path.replace('/', '-')}")
    assert not failures, describe([{"page": p, "violations": v} for p, v in failures.items()])


def test_the_keyboard_reaches_the_main_controls(
    context: BrowserContext, stack: dict[str, Any], web_url: str
) -> None:
    page = context.new_page()
    sign_in(page, web_url, user(stack, "demo", "member"), start="ask")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    focused: list[str] = []
    for _ in range(6):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("() => document.activeElement.id || document.activeElement.textContent"))
    assert "question" in focused


def test_the_other_tenants_member_sees_only_their_own_tenant(
    context: BrowserContext, stack: dict[str, Any], web_url: str
) -> None:
    # Given the other tenant's member, signed in through their own tenant's login
    page = context.new_page()
    other = user(stack, "other_tenant", "member")
    sign_in(page, web_url, other, start="activity")
    expect(page.locator(".who")).to_contain_text(other["tenant"])
    # Then their trail holds only their own actor, never the demo tenant's users
    deadline = time.monotonic() + 45
    while not page.locator("#activity").count() and time.monotonic() < deadline:
        time.sleep(2)
        page.reload()
    trail = page.locator("main").inner_text()
    assert "usr_demo" not in trail
    assert "demo.echo.test" not in trail
    # And the demo tenant's admin pages stay closed to them
    response = page.goto(web_url + "admin/users")
    assert response is not None
    assert response.status == 403
