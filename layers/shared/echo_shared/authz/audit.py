"""Audit events of the authorization service, on the platform bus (and so in the audit chain).

A decision's event id *is* its decision id, so the audit chain (exactly once per event id) holds
one record per decision, and a record can be found from the id a caller was given.

Decision records are on the hot path of every check, so they are built from values already checked
(tenant ids, texts made printable and clipped, data of strings and integers only) without
re-running the envelope's validators; a record that could fail them (oversized data) is built
through `new_event` and its validation instead.
"""

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from echo_shared.authz.caller import principal_actor
from echo_shared.authz.errors import AuditNotRecorded, DecisionNotAudited
from echo_shared.authz.model import Decision, Effect, ResourceList
from echo_shared.events import (
    EventEnvelope,
    EventPublisher,
    Outcome,
    PublishFailed,
    is_valid_tenant,
    new_event,
)
from echo_shared.events.envelope import MAX_DATA_BYTES
from echo_shared.events.publisher import MAX_BATCH_SIZE
from echo_shared.timeutil import Clock, coerce_utc, utc_now

DECISION_EVENT = "authz.decision"
MAX_AUDITED_ERRORS = 10
_MAX_TEXT = 512
_PLAIN_TEXT = re.compile(r"[\x20-\x7e]{1,512}")


def _text(value: str) -> str:
    if _PLAIN_TEXT.fullmatch(value):
        return value
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value)
    return cleaned[:_MAX_TEXT] or "-"


def decision_events(
    decisions: Sequence[Decision],
    *,
    request_id: str,
    asked_by: str,
    baseline_version: str,
    clock: Clock = utc_now,
) -> list[EventEnvelope]:
    """One `authz.decision` record per decision, in order (its event id is the decision id), with
    the texts a batch shares made once and each envelope copied from one built for the batch."""
    request_text = _text(request_id)
    shared = (asked_by, baseline_version)
    shared_ascii, shared_length = all(map(str.isascii, shared)), sum(map(len, shared))
    named: dict[object, tuple[str, str]] = {}  # a principal's or resource's name, and as a text
    template: EventEnvelope | None = None
    events = []
    for decision in decisions:
        request = decision.request
        principal, actor = named.get(request.principal) or named.setdefault(
            request.principal, (str(request.principal.ref), _text(principal_actor(request.principal)))
        )
        resource, resource_text = named.get(request.resource) or named.setdefault(
            request.resource, (str(request.resource), _text(str(request.resource)))
        )
        reasons, errors = list(decision.reasons), list(decision.errors[:MAX_AUDITED_ERRORS])
        data: dict[str, Any] = {
            "decision_id": decision.decision_id,
            "kind": "check",
            "decision": decision.effect.value,
            "principal": principal,
            "principal_tenant": request.principal.tenant,
            "action": request.action,
            "resource": resource,
            "policy_version": decision.policy_version,
            "baseline_version": baseline_version,
            "reasons": reasons,
            "errors": errors,
            "asked_by": asked_by,
        }
        tenant = request.evaluation_tenant
        fields: dict[str, Any] = {
            "event_id": uuid.UUID(decision.decision_id),
            "tenant": tenant,
            "actor": actor,
            "action": _text(request.action),
            "resource": resource_text,
            "outcome": Outcome.SUCCESS if decision.effect is Effect.ALLOW else Outcome.DENIED,
            "occurred_at": coerce_utc(clock()),
            "request_id": request_text,
            "data": data,
        }
        # `_fits`'s quick bound from its parts (the decision id, kind and decision: 46 ASCII characters).
        variable = [principal, request.principal.tenant, request.action, resource, decision.policy_version]
        variable += reasons + errors
        bound = 64 * len(data) + 6 * (46 + shared_length + sum(map(len, variable))) + 3 * (len(variable) + 5)
        quick = shared_ascii and bound <= MAX_DATA_BYTES and all(map(str.isascii, variable))
        if not is_valid_tenant(tenant) or not (quick or _fits(data)):
            events.append(new_event(type=DECISION_EVENT, **fields))
        elif template is None:
            template = EventEnvelope.model_construct(type=DECISION_EVENT, **fields)
            events.append(template)
        else:
            # The fields the template does not share are all replaced: a copy is a fresh record.
            events.append(template.model_copy(update=fields))
    return events


def list_event(
    listing: ResourceList,
    *,
    tenant: str,
    request_id: str,
    asked_by: str,
    baseline_version: str,
    clock: Clock = utc_now,
) -> EventEnvelope:
    """One record per list answer: the allowed set is summarized (count + digest), not enumerated."""
    principal = str(listing.principal.ref)
    resource = f"{listing.resource_type.value}::*"
    allowed = bool(listing.resource_ids)
    digest = hashlib.sha256("\n".join(sorted(listing.resource_ids)).encode()).hexdigest()
    data: dict[str, Any] = {
        "decision_id": listing.decision_id,
        "kind": "list",
        "decision": (Effect.ALLOW if allowed else Effect.DENY).value,
        "principal": principal,
        "principal_tenant": listing.principal.tenant,
        "action": listing.action,
        "resource": resource,
        "policy_version": listing.policy_version,
        "baseline_version": baseline_version,
        "evaluated": listing.evaluated,
        "allowed": len(listing.resource_ids),
        "allowed_digest": f"sha256:{digest}",
        "reasons": [],
        "errors": list(listing.errors[:MAX_AUDITED_ERRORS]),
        "asked_by": asked_by,
    }
    return _event(
        tenant=tenant,
        actor=_text(principal_actor(listing.principal)),
        action=_text(listing.action),
        resource=resource,
        outcome=Outcome.SUCCESS if allowed else Outcome.DENIED,
        request_id=_text(request_id),
        data=data,
        event_id=uuid.UUID(listing.decision_id),
        clock=clock,
    )


def _event(
    *,
    tenant: str,
    actor: str,
    action: str,
    resource: str,
    outcome: Outcome,
    request_id: str,
    data: dict[str, Any],
    event_id: uuid.UUID,
    clock: Clock,
) -> EventEnvelope:
    """The envelope `new_event` would build; texts come through `_text`, data holds no floats."""
    occurred_at: datetime = coerce_utc(clock())
    if not is_valid_tenant(tenant) or not _fits(data):
        return new_event(
            type=DECISION_EVENT,
            tenant=tenant,
            actor=actor,
            action=action,
            resource=resource,
            outcome=outcome,
            request_id=request_id,
            data=data,
            event_id=event_id,
            occurred_at=occurred_at,
        )
    return EventEnvelope.model_construct(
        event_id=event_id,
        type=DECISION_EVENT,
        tenant=tenant,
        actor=actor,
        action=action,
        resource=resource,
        outcome=outcome,
        occurred_at=occurred_at,
        request_id=request_id,
        data=data,
    )


def _fits(data: dict[str, Any]) -> bool:
    """UTF-8 encodable and within the envelope's size: a quick bound first, the exact size if needed."""
    texts = [v for v in data.values() if isinstance(v, str)]
    for value in data.values():
        if isinstance(value, list):
            texts += value
    # Canonical JSON spends at most 6 bytes on a character (an escaped control character).
    bound = 64 * len(data) + 6 * sum(map(len, texts)) + 3 * len(texts)
    if bound <= MAX_DATA_BYTES and all(map(str.isascii, texts)):
        return True
    try:
        return len(json.dumps(data, ensure_ascii=False).encode()) <= MAX_DATA_BYTES
    except UnicodeEncodeError:
        return False


def publish_all(
    publisher: EventPublisher,
    events: Sequence[EventEnvelope],
    failure: type[AuditNotRecorded] = DecisionNotAudited,
) -> None:
    """Publish every event or raise `failure` (for decisions: the caller withholds them)."""
    try:
        for start in range(0, len(events), MAX_BATCH_SIZE):
            chunk = events[start : start + MAX_BATCH_SIZE]
            if len(chunk) == 1:
                publisher.publish(chunk[0])
            else:
                publisher.publish_batch(chunk)
    except PublishFailed as exc:
        raise failure("the audit log cannot be written right now; retry") from exc
