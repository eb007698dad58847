"""Identity figures: argon2-bound login cost per core, token issuance rates, authorizer verify time
in-process and through the gateway (cached vs uncached), authz check through the gateway."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from echo_shared.identity.passwords import PasswordHasher
from echo_shared.identity.verification import TokenVerifier

from tests.bench.common import contract, summary, timed_ms
from tests.e2e.oidc import RelyingParty

SAMPLES = 30


class _StaticKeys:
    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = {key["kid"]: key for key in jwks["keys"]}

    def key_for(self, kid: str) -> dict[str, Any] | None:
        return self._keys.get(kid)


def _client_token(stack: dict[str, Any], http: httpx.Client) -> str:
    confidential = stack["demo"]["confidential_client"]
    response = http.post(
        "token",
        auth=(confidential["client_id"], confidential["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "audit:read"},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _per_second(samples_ms: list[float]) -> float:
    return round(1000 * len(samples_ms) / sum(samples_ms), 1)


def run() -> dict[str, Any]:
    stack = contract()
    http = httpx.Client(base_url=stack["api_url"], timeout=30)
    results: dict[str, Any] = {}

    hasher = PasswordHasher()
    stored = hasher.hash("correct horse battery staple")
    verify = [timed_ms(lambda: hasher.verify("correct horse battery staple", stored)) for _ in range(10)]
    results["argon2id_verify"] = {**summary(verify), "logins_per_s_per_core": _per_second(verify)}

    issue = [timed_ms(lambda: _client_token(stack, http)) for _ in range(SAMPLES)]
    results["client_credentials_gateway"] = {**summary(issue), "tokens_per_s": _per_second(issue)}

    member = stack["demo"]["users"]["member"]
    logins, exchanges = [], []
    for _ in range(5):
        rp = RelyingParty(stack)
        started = time.perf_counter()
        back = rp.sign_in(member["email"], member["password"])
        logins.append((time.perf_counter() - started) * 1000)
        exchanges.append(
            timed_ms(
                lambda rp=rp, back=back: rp.oauth.fetch_token(
                    rp.metadata["token_endpoint"],
                    authorization_response=back.headers["location"],
                    code_verifier=rp.verifier,
                )
            )
        )
    results["hosted_login_flow_gateway"] = summary(logins)
    results["code_exchange_gateway"] = {**summary(exchanges), "tokens_per_s": _per_second(exchanges)}

    token = _client_token(stack, http)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    verifier = TokenVerifier(
        issuer=stack["issuer"],
        audience=claims["aud"] if isinstance(claims["aud"], str) else claims["aud"][0],
        keys=_StaticKeys(http.get("jwks.json").json()),
        clock=lambda: datetime.now(UTC),
    )
    in_process = [timed_ms(lambda: verifier.verify_access_token(token)) for _ in range(2000)]
    results["authorizer_verify_in_process"] = summary(in_process)

    fresh_tokens = [_client_token(stack, http) for _ in range(SAMPLES)]
    uncached = [
        timed_ms(
            lambda t=t: http.get(
                "audit/events", params={"limit": 1}, headers={"Authorization": f"Bearer {t}"}
            )
        )
        for t in fresh_tokens
    ]
    cached = [
        timed_ms(
            lambda: http.get(
                "audit/events", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
            )
        )
        for _ in range(SAMPLES)
    ]
    results["gateway_audit_events_new_token"] = summary(uncached)
    results["gateway_audit_events_cached_authorizer"] = summary(cached)
    results["authorizer_overhead_ms_p50"] = round(
        results["gateway_audit_events_new_token"]["p50_ms"]
        - results["gateway_audit_events_cached_authorizer"]["p50_ms"],
        2,
    )

    rp = RelyingParty(stack)
    user_tokens = rp.tokens_for(member["email"], member["password"])
    sub = json.loads(base64.urlsafe_b64decode(user_tokens["access_token"].split(".")[1] + "=="))["sub"]
    body = {
        "principal": {"type": "User", "id": sub},
        "action": "log:read",
        "resource": {"type": "Tenant", "id": "demo"},
    }
    headers = {"Authorization": f"Bearer {user_tokens['access_token']}"}
    http.post("authz/check", json=body, headers=headers)
    checks = [timed_ms(lambda: http.post("authz/check", json=body, headers=headers)) for _ in range(SAMPLES)]
    results["gateway_authz_check_warm"] = summary(checks)
    return results
