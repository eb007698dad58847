"""Administration logic: what the admin pages show, computed from Echo's APIs' answers."""

import difflib
from dataclasses import dataclass
from typing import Any

from web.errors import NotAllowed
from web.logic import Capabilities, WebService, call_api, capabilities
from web.sessions import WebSession


def require(service: WebService, session: WebSession, what: str) -> Capabilities:
    """The page's permission, decided by Cedar through /authz/batch (never by the roles here)."""
    caps = capabilities(service, session)
    if not getattr(caps, what):
        raise NotAllowed("This page is for tenant administrators.")
    return caps


@dataclass(frozen=True, slots=True)
class PolicyView:
    overview: dict[str, Any]
    selected: dict[str, Any] | None
    diff: list[tuple[str, str]]  # (css class, line)


def policy_view(service: WebService, session: WebSession, version: str | None) -> PolicyView:
    overview = call_api(service, session, "GET", "authz/policies")
    if not version:
        return PolicyView(overview, None, [])
    selected = call_api(service, session, "GET", "authz/policies", query={"version": version})
    active = overview.get("active") or {}
    diff = policy_diff(
        str(active.get("policies") or ""),
        str(selected.get("policies") or ""),
        str(active.get("version", "active")),
        str(selected.get("version", version)),
    )
    return PolicyView(overview, selected, diff)


def policy_diff(active: str, other: str, active_label: str, other_label: str) -> list[tuple[str, str]]:
    lines = difflib.unified_diff(
        active.splitlines(), other.splitlines(), fromfile=active_label, tofile=other_label, lineterm=""
    )
    return [(_kind(line), line) for line in lines]


def _kind(line: str) -> str:
    if line.startswith(("+++", "---", "@@")):
        return "meta"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "same"
