"""The audit API over in-memory fakes and the real Cedar client: routing, callers (roles and token
scopes), filters, pagination, errors. Actors are in the producers' format (`user:<id>`)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from audit_api.app import create_app
from audit_api.dependencies import (
    get_audit_reader,
    get_authz_client,
    get_chain_verifier,
    get_current_caller,
    get_log_repository,
    get_verification_jobs,
)
from audit_api.logic import VerificationJobs
from echo_shared.audit import (
    AuditAppender,
    AuditStoreThrottled,
    ChainVerifier,
    write_checkpoint,
)
from echo_shared.audit.verification_jobs import JobResult
from echo_shared.authz.caller import Caller, caller_from_authorizer
from echo_shared.authz.catalog import packaged_catalog
from echo_shared.events import EventEnvelope
from echo_shared.logs import LogEntry
from fastapi.testclient import TestClient

from tests.fakes.audit import (
    InMemoryAuditChainRepository,
    InMemoryCheckpointSigner,
    InMemoryCheckpointStore,
    InMemoryVerificationJobStore,
    RecordingJobQueue,
)
from tests.fakes.logs import InMemoryLogRepository
from tests.unit.authz.factories import AuthzWorld, build_world

BASE = datetime(2026, 1, 5, 10, tzinfo=UTC)


# An admin signed in to a first-party admin tool that asked for the audit and log scopes.
ADMIN = {"sub": "ops-1", "roles": "admin", "scope": "openid audit:read logs:read", "token_type": "user"}


@dataclass
class Api:
    client: TestClient
    repo: InMemoryAuditChainRepository
    logs: InMemoryLogRepository
    authz: AuthzWorld
    context: dict[str, str]

    def get(self, path: str, as_tenant: str | None = "acme", **params: Any) -> Any:
        context = dict(self.context) | ({} if as_tenant is None else {"tenant": as_tenant})

        def caller() -> Caller:
            return caller_from_authorizer(context)  # as the Lambda authorizer's context says

        self.client.app.dependency_overrides[get_current_caller] = caller  # type: ignore[attr-defined]
        return self.client.get(path, params=params)


@pytest.fixture
def api(make_event: Callable[..., EventEnvelope]) -> Iterator[Api]:
    """acme: 7 events (4 logins by user-1, 3 uploads by user-2); globex: 2 logins. Plus log entries."""
    repo, logs = InMemoryAuditChainRepository(), InMemoryLogRepository()
    store, signer = InMemoryCheckpointStore(), InMemoryCheckpointSigner()
    appender = AuditAppender(repo)
    for minute in range(7):
        login = minute % 2 == 0
        appender.append(
            make_event(
                type="user.logged_in" if login else "document.uploaded",
                actor="user:user-1" if login else "user:user-2",
                resource="user:user-1" if login else f"document:doc-{minute}",
                occurred_at=BASE + timedelta(minutes=minute),
            )
        )
    for minute in range(2):
        appender.append(
            make_event(tenant="globex", actor="user:g-user", occurred_at=BASE + timedelta(minutes=minute))
        )
    for tenant in ("acme", "globex"):
        write_checkpoint(tenant, chain=repo, signer=signer, store=store)
    for minute in range(5):
        event = make_event(
            type="log.error" if minute % 2 else "log.info", occurred_at=BASE + timedelta(minutes=minute)
        )
        logs.put_if_absent(LogEntry.from_event(event, retention_days=30))
    logs.put_if_absent(LogEntry.from_event(make_event(type="log.info", tenant="globex"), retention_days=30))

    authz = build_world(packaged_catalog())
    app = create_app()
    app.dependency_overrides[get_authz_client] = lambda: authz.client
    app.dependency_overrides[get_audit_reader] = lambda: repo
    app.dependency_overrides[get_log_repository] = lambda: logs
    app.dependency_overrides[get_chain_verifier] = lambda: ChainVerifier(repo, store, signer)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, repo, logs, authz, dict(ADMIN))


def _as(api: Api, sub: str, roles: str, scope: str) -> None:
    api.context = {"sub": sub, "roles": roles, "scope": scope, "token_type": "user"}


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    return str(body["error"]["message"])


def test_events_are_newest_first_with_chain_fields(api: Api) -> None:
    # When acme lists its events
    response = api.get("/audit/events")

    # Then all seven come back newest first, each with its chain position and hashes
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["seq"] for item in items] == [7, 6, 5, 4, 3, 2, 1]
    assert response.json()["next_cursor"] is None
    assert set(items[0]) == {
        "seq",
        "event_id",
        "type",
        "actor",
        "action",
        "resource",
        "outcome",
        "occurred_at",
        "request_id",
        "data",
        "hash",
        "prev_hash",
        "producer",  # ADR 0016: who published it (None for records chained without one)
    }
    assert items[0]["prev_hash"] == items[1]["hash"]
    assert items[-1]["data"] == {"method": "password"}


def test_oldest_first_order(api: Api) -> None:
    items = api.get("/audit/events", order="oldest").json()["items"]
    assert [item["seq"] for item in items] == [1, 2, 3, 4, 5, 6, 7]


def test_filters_combine(api: Api) -> None:
    # When filtering logins in a window [10:01, 10:05)
    response = api.get(
        "/audit/events",
        type="user.logged_in",
        since="2026-01-05T10:01:00Z",
        until="2026-01-05T11:05:00+01:00",
    )

    # Then only the logins at 10:02 and 10:04 match
    assert [item["seq"] for item in response.json()["items"]] == [5, 3]
    assert api.get("/audit/events", actor="user:user-2").json()["items"][0]["actor"] == "user:user-2"
    assert [i["seq"] for i in api.get("/audit/events", resource="document:doc-3").json()["items"]] == [4]


def test_pagination_walks_every_match_once(api: Api) -> None:
    # Given a page size of 2 over acme's 7 events
    seen: list[int] = []
    cursor: str | None = None

    # When following next_cursor until it runs out
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = api.get("/audit/events", **params).json()
        seen += [item["seq"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # Then every event is seen exactly once, in order
    assert seen == [7, 6, 5, 4, 3, 2, 1]


def test_tenant_isolation(api: Api) -> None:
    # Given a cursor issued to acme
    acme_cursor = api.get("/audit/events", limit=1).json()["next_cursor"]

    # Then globex sees only its own events, and cannot use acme's cursor
    items = api.get("/audit/events", as_tenant="globex").json()["items"]
    assert {item["actor"] for item in items} == {"user:g-user"}
    assert len(items) == 2
    _error(api.get("/audit/events", as_tenant="globex", cursor=acme_cursor), 400, "invalid_cursor")
    assert len(api.get("/logs", as_tenant="globex").json()["items"]) == 1


def test_cursor_reused_with_other_filters_is_refused(api: Api) -> None:
    cursor = api.get("/audit/events", limit=1).json()["next_cursor"]
    message = _error(api.get("/audit/events", cursor=cursor, type="user.logged_in"), 400, "invalid_cursor")
    assert message == "cursor was issued for different filters"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 101}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
        ({"type": "User Logged In"}, "query.type"),
        ({"since": "yesterday"}, "query.since"),
        ({"until": "2026-01-05T10:00:00"}, "query.until"),
        ({"tenant": "globex"}, "query.tenant"),
        ({"order": "random"}, "query.order"),
    ],
)
def test_malformed_parameters_are_422_with_the_typed_body(
    api: Api, params: dict[str, Any], field: str
) -> None:
    message = _error(api.get("/audit/events", **params), 422, "validation_error")
    assert message.startswith(field)
    assert "yesterday" not in message


def test_inverted_window_is_400(api: Api) -> None:
    response = api.get("/audit/events", since="2026-01-05T11:00:00Z", until="2026-01-05T10:00:00Z")
    assert _error(response, 400, "invalid_filter") == "since must be earlier than until"


def test_garbage_cursor_is_400(api: Api) -> None:
    _error(api.get("/logs", cursor="%%%"), 400, "invalid_cursor")


@pytest.mark.parametrize("tenant", [None, "", "bad/tenant", "x" * 65])
def test_missing_or_invalid_authorizer_tenant_is_401(api: Api, tenant: str | None) -> None:
    _error(api.get("/audit/events", as_tenant=tenant), 401, "unauthenticated")


def test_unknown_route_and_method_use_the_typed_body(api: Api) -> None:
    _error(api.get("/audit/nothing"), 404, "not_found")
    _error(api.client.post("/audit/events"), 405, "method_not_allowed")


def test_plain_user_sees_only_their_own_trail(api: Api) -> None:
    # Given user-2, a member, with a token of the default scopes
    _as(api, "user-2", "member", "openid profile email")

    # Then listing returns only their events (the producers' actor format), and asking for someone
    # else's is forbidden
    items = api.get("/audit/events").json()["items"]
    assert {item["actor"] for item in items} == {"user:user-2"}
    assert len(items) == 3
    assert len(api.get("/audit/events", actor="user:user-2").json()["items"]) == 3
    _error(api.get("/audit/events", actor="user:user-1"), 403, "forbidden")
    _error(api.get("/audit/events", actor="user-2"), 403, "forbidden")
    _error(api.get("/audit/verify"), 403, "forbidden")
    _error(api.get("/logs"), 403, "forbidden")


def test_auditor_reads_and_verifies_but_not_logs(api: Api) -> None:
    _as(api, "aud-1", "auditor", "audit:read logs:read")
    assert len(api.get("/audit/events").json()["items"]) == 7
    assert api.get("/audit/verify").json()["ok"] is True
    _error(api.get("/logs"), 403, "forbidden")


def test_verify_reports_the_tenant_chain(api: Api) -> None:
    body = api.get("/audit/verify").json()
    assert body == {
        "ok": True,
        "checked": 7,
        "head_seq": 7,
        "first_bad_seq": None,
        "problem": None,
        "detail": "7 records verified against 1 signed checkpoints",
        "checkpoint_seq": 7,
    }


def test_verify_reports_tampering(api: Api) -> None:
    # Given acme's record 3 deleted
    api.repo.tamper_delete("acme", 3)

    # Then verification points at it, and globex is unaffected
    body = api.get("/audit/verify").json()
    assert (body["ok"], body["problem"], body["first_bad_seq"], body["head_seq"]) == (
        False,
        "missing_record",
        3,
        7,
    )
    assert api.get("/audit/verify", as_tenant="globex").json()["ok"] is True


def test_logs_newest_first_with_filters_and_pages(api: Api) -> None:
    # Given an admin whose token was granted logs:read
    page = api.get("/logs", limit=2).json()
    assert [item["type"] for item in page["items"]] == ["log.info", "log.error"]
    assert page["items"][0]["occurred_at"] == "2026-01-05T10:04:00.000000Z"
    assert page["items"][0]["expires_at"] == int((BASE + timedelta(minutes=4, days=30)).timestamp())
    rest = api.get("/logs", limit=10, cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 3
    assert rest["next_cursor"] is None
    errors = api.get("/logs", type="log.error").json()["items"]
    assert [item["occurred_at"][11:16] for item in errors] == ["10:03", "10:01"]
    window = api.get("/logs", since="2026-01-05T10:01:00Z", until="2026-01-05T10:03:00Z", order="oldest")
    assert [item["occurred_at"][11:16] for item in window.json()["items"]] == ["10:01", "10:02"]


def test_unexpected_errors_are_500_without_internals(api: Api) -> None:
    # Given a store that fails in an unexpected way
    class Broken:
        def query(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("connection string postgres://secret@db")

    api.client.app.dependency_overrides[get_audit_reader] = Broken  # type: ignore[attr-defined]

    # Then the caller gets a generic typed 500
    response = api.get("/audit/events")
    assert _error(response, 500, "internal_error") == "internal error"
    assert "secret" not in response.text


def test_an_admins_token_without_the_scope_reads_only_their_own_trail(api: Api) -> None:
    # Given an admin signed in to a documents app: granted documents:read only
    _as(api, "user-1", "admin", "openid documents:read")

    # Then the admin role does not open the tenant's trail, the chain or the logs
    items = api.get("/audit/events").json()["items"]
    assert {item["actor"] for item in items} == {"user:user-1"}
    _error(api.get("/audit/verify"), 403, "forbidden")
    _error(api.get("/logs"), 403, "forbidden")
    # And each of those answers is an audited Cedar decision naming the scope rule
    decisions = [event for event in api.authz.publisher.published if event.type == "authz.decision"]
    assert [event.data["reasons"] for event in decisions[-2:]] == [
        ["baseline.scope-bound.audit-read"],
        ["baseline.scope-bound.logs-read"],
    ]
    assert {event.actor for event in decisions} == {"user:user-1"}


def test_verify_a_range_between_checkpoints(api: Api) -> None:
    # acme's 7 records are signed at 7 only: the range walks from genesis to that checkpoint
    body = api.get("/audit/verify", from_seq=2, to_seq=4).json()
    assert (body["ok"], body["checked"], body["head_seq"], body["checkpoint_seq"]) == (True, 7, 7, 7)


def test_verify_a_range_pins_the_first_bad_seq(api: Api) -> None:
    api.repo.tamper_delete("acme", 3)
    body = api.get("/audit/verify", from_seq=2, to_seq=5).json()
    assert (body["ok"], body["problem"], body["first_bad_seq"]) == (False, "missing_record", 3)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from_seq": 2}, "invalid_range"),
        ({"to_seq": 2}, "invalid_range"),
        ({"from_seq": 5, "to_seq": 4}, "invalid_range"),
        ({"from_seq": 1, "to_seq": 10_001}, "range_too_wide"),
    ],
)
def test_bad_ranges_are_typed_400s(api: Api, params: dict[str, int], code: str) -> None:
    message = _error(api.get("/audit/verify", **params), 400, code)
    if code == "range_too_wide":
        assert "10000" in message
        assert "consecutive ranges" in message


@pytest.mark.parametrize("params", [{"from_seq": 0, "to_seq": 3}, {"from_seq": "x", "to_seq": 3}, {"seq": 1}])
def test_malformed_range_parameters_are_422(api: Api, params: dict[str, Any]) -> None:
    assert api.get("/audit/verify", **params).status_code == 422


@pytest.fixture
def jobs(api: Api) -> VerificationJobs:
    store = InMemoryCheckpointStore()
    signer = InMemoryCheckpointSigner()
    for tenant in ("acme", "globex"):
        write_checkpoint(tenant, chain=api.repo, signer=signer, store=store)
    found = VerificationJobs(
        store=InMemoryVerificationJobStore(), queue=RecordingJobQueue(), chain=api.repo, checkpoints=store
    )
    api.client.app.dependency_overrides[get_verification_jobs] = lambda: found  # type: ignore[attr-defined]
    return found


def _post(api: Api, path: str, as_tenant: str = "acme") -> Any:
    context = dict(api.context) | {"tenant": as_tenant}
    api.client.app.dependency_overrides[get_current_caller] = lambda: caller_from_authorizer(context)  # type: ignore[attr-defined]
    return api.client.post(path)


def test_a_verification_job_is_started_for_the_callers_tenant_and_queued(
    api: Api, jobs: VerificationJobs
) -> None:
    # When an admin of acme starts a full verification
    response = _post(api, "/audit/verifications")
    # Then it is accepted, covers the chain up to its head and is queued for the job function
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["end_seq"], body["last_verified_seq"], body["result"]) == (
        "running",
        7,
        0,
        None,
    )
    assert jobs.queue.sent == [("acme", body["id"])]  # type: ignore[attr-defined]
    stored = jobs.store.get("acme", body["id"])
    assert stored is not None
    assert stored.requested_by == "user:ops-1"
    # And its progress can be read back by its tenant
    polled = api.get(f"/audit/verifications/{body['id']}")
    assert polled.status_code == 200
    assert polled.json()["id"] == body["id"]


class UnreachableJobQueue:
    """SQS refusing the job message (the SqsJobQueue adapter raises AuditStoreThrottled)."""

    def enqueue(self, tenant: str, job_id: str) -> None:
        raise AuditStoreThrottled("queueing the verification job failed")


def test_a_job_that_cannot_be_queued_is_a_503_and_is_not_left_behind(
    api: Api, jobs: VerificationJobs
) -> None:
    # Given the job queue refusing messages
    api.client.app.dependency_overrides[get_verification_jobs] = lambda: replace(
        jobs, queue=UnreachableJobQueue()
    )  # type: ignore[attr-defined]
    # When an admin starts a full verification
    response = _post(api, "/audit/verifications")
    # Then it is a typed 503, and no job stays behind that would never start
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable"
    assert jobs.store.jobs == {}  # type: ignore[attr-defined]


def test_another_tenants_job_is_not_found(api: Api, jobs: VerificationJobs) -> None:
    # Given a job started by acme
    job_id = _post(api, "/audit/verifications").json()["id"]
    # Then globex's admin gets a 404, like for a job that never existed
    _error(api.get(f"/audit/verifications/{job_id}", as_tenant="globex"), 404, "not_found")
    _error(api.get("/audit/verifications/00000000-0000-4000-8000-000000000000"), 404, "not_found")
    # And a malformed id is refused without a store read
    assert api.get("/audit/verifications/not-a-job").status_code == 422


def test_starting_or_reading_a_job_needs_audit_verify(api: Api, jobs: VerificationJobs) -> None:
    job_id = _post(api, "/audit/verifications").json()["id"]
    _as(api, "user-2", "member", "openid profile email")
    _error(_post(api, "/audit/verifications"), 403, "forbidden")
    _error(api.get(f"/audit/verifications/{job_id}"), 403, "forbidden")
    assert len(jobs.queue.sent) == 1  # type: ignore[attr-defined]


def test_a_finished_job_shows_its_result(api: Api, jobs: VerificationJobs) -> None:
    job_id = _post(api, "/audit/verifications").json()["id"]
    stored = jobs.store.get("acme", job_id)
    assert stored is not None
    jobs.store.jobs[("acme", job_id)] = replace(  # type: ignore[attr-defined]
        stored,
        next_seq=5,
        checked=4,
        pages=1,
        result=JobResult(False, 5, "hash_mismatch", "stored hash...", 3),
    )
    body = api.get(f"/audit/verifications/{job_id}").json()
    assert (body["status"], body["last_verified_seq"]) == ("finished", 4)
    assert body["result"] == {
        "ok": False,
        "first_bad_seq": 5,
        "problem": "hash_mismatch",
        "detail": "stored hash...",
        "checkpoint_seq": 3,
    }
