"""A batch's decisions and audit records do not change when the hot path does.

`reference_batch_records.json` holds what `check_batch` answered and published for the batch
below before the batch path was reworked (deterministic ids and clock): every decision, and every
record as the audit chain stores it. Regenerate it only for an intended change of the records:
`python -m tests.unit.authz.test_batch_records > tests/unit/authz/reference_batch_records.json`.
"""

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from echo_shared.authz import AuthzClient, AuthzRequest, Classification, DocumentMetadata, Principal
from echo_shared.authz.catalog import packaged_catalog
from echo_shared.authz.store import ActivationKind, NewPolicyVersion

from tests.unit.authz.factories import OTHER, TENANT, build_world, document, tenant_resource

REFERENCE = Path(__file__).with_name("reference_batch_records.json")
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
POLICIES = """
@id("acme.auditors-read-logs")
permit (principal in Role::"auditor", action == Action::"log:read", resource is Tenant);

@id("acme.mfa-for-user-admin")
forbid (principal, action == Action::"user:admin", resource)
when { context has mfa && !context.mfa };

@id("acme.scoped-verify")
forbid (principal, action == Action::"audit:verify", resource)
when { principal.scopes.contains("no-verify") };
"""


class CountingIds:
    def __init__(self) -> None:
        self.issued = 0

    def __call__(self) -> uuid.UUID:
        self.issued += 1
        return uuid.UUID(int=self.issued, version=4)


def reference_batch() -> list[AuthzRequest]:
    """Allows, denies, reasons, erroring policies, lookalikes, repeats, documents (missing, foreign),
    clients, token scopes, another tenant's questions and principal ids that need escaping."""
    ann, ben = Principal.user("ann", TENANT, {"auditor"}), Principal.user("ben", TENANT, {"auditor"})
    root = Principal.user("root", TENANT, {"admin"})
    dee = Principal.user("dee", TENANT, {"member", "viewer"})
    token = Principal.user("tok", TENANT, {"admin", "auditor"}, scopes={"audit:read"})
    svc = Principal.client("svc", TENANT, {"documents:read", "audit:read"})
    odd = Principal.user('zoë "q"\\', TENANT, {"auditor"})
    rival = Principal.user("riv", OTHER, {"admin"})
    requests = [
        AuthzRequest(person, action, tenant_resource())
        for person in (ann, ben, root, dee, token, svc, odd, rival)
        for action in ("audit:read", "audit:verify", "log:read")
    ]
    requests += [
        AuthzRequest(root, "user:admin", tenant_resource(), {"mfa": False}),
        AuthzRequest(root, "user:admin", tenant_resource(), {"mfa": True, "source_ip": "10.0.0.1"}),
        AuthzRequest(root, "user:admin", tenant_resource()),
        AuthzRequest(rival, "user:admin", tenant_resource(OTHER), tenant=OTHER),
        AuthzRequest(rival, "audit:read", tenant_resource(OTHER), tenant=OTHER),
        AuthzRequest(ann, "audit:read", tenant_resource(OTHER), tenant=OTHER),
    ]
    requests += [
        AuthzRequest(person, action, document(doc))
        for person in (ann, dee, svc, rival, odd)
        for action in ("document:read", "document:delete")
        for doc in ("d1", "d2", "d3", "missing")
    ]
    return requests + requests[:7] + [requests[40], requests[3]]


def documents() -> list[DocumentMetadata]:
    return [
        DocumentMetadata(TENANT, "d1", "ann"),
        DocumentMetadata(TENANT, "d2", "ben", shared_with_roles=frozenset({"viewer"})),
        DocumentMetadata(TENANT, "d3", "dee", frozenset({"ann"}), classification=Classification.RESTRICTED),
        DocumentMetadata(OTHER, "d1", "riv"),
    ]


def batch_records() -> dict[str, Any]:
    world = build_world(packaged_catalog())
    # Stored as is, past validation: a policy that errs at evaluation, as an older version might.
    version = world.store.create(NewPolicyVersion(TENANT, POLICIES, "sha256:-", (), "", AT, "tests"))
    world.store.activate(
        TENANT, version.number, expected_revision=0, kind=ActivationKind.ACTIVATE, at=AT, by="t"
    )
    for found in documents():
        world.entities.add_document(found)
    client = AuthzClient(
        store=world.store,
        entities=world.entities,
        publisher=world.publisher,
        asked_by="service:tests",
        catalog=world.catalog,
        clock=lambda: AT,
        new_id=CountingIds(),
    )
    before = len(world.publisher.published)
    decisions = client.check_batch(reference_batch(), request_id="req-ref", asked_by="service:batch")
    return {
        "decisions": [
            [d.decision_id, d.effect.value, d.policy_version, list(d.reasons), list(d.errors), d.unavailable]
            for d in decisions
        ],
        "records": [_portable(record.ledger_fields()) for record in world.publisher.published[before:]],
    }


def _portable(record: dict[str, Any]) -> dict[str, Any]:
    """The record with the baseline's version (a digest of baseline.cedar) named, not spelled."""
    assert record["data"]["baseline_version"] == packaged_catalog().baseline_version
    return {**record, "data": {**record["data"], "baseline_version": "<baseline>"}}


def test_a_batch_decides_and_records_as_before() -> None:
    # Given the reference batch and what it answered and published before the batch path changed
    reference = json.loads(REFERENCE.read_text())
    # When it is decided again
    found = batch_records()
    # Then every decision and every record is the same, in order
    assert len(found["decisions"]) == len(reference_batch()) == len(reference["records"])
    assert found["decisions"] == reference["decisions"]
    assert found["records"] == reference["records"]


if __name__ == "__main__":
    sys.stdout.write(json.dumps(batch_records(), indent=1, ensure_ascii=False, sort_keys=True) + "\n")
