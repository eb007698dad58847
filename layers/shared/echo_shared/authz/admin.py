"""Tenant policy administration: propose a version, activate it, roll back, read the history.

A proposal is validated (see validation.py) and stored as a new, inactive version. Activation
validates it again (the baseline may have changed since) and then moves the active pointer with a
conditional write. Every change is written with its audit event in one transaction (the outbox,
ADR 0014: the store's `reported_by`); a refused proposal changes nothing, and its event is written
on its own through the publisher.
Who may do this is decided by the caller, through an `policy:admin` decision.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from echo_shared.authz.audit import publish_all
from echo_shared.authz.engine import BASELINE_ONLY_VERSION
from echo_shared.authz.errors import (
    AuditNotRecorded,
    InvalidActivation,
    PolicyRejected,
    PolicyVersionNotFound,
)
from echo_shared.authz.golden import GoldenDecision
from echo_shared.authz.store import (
    Activation,
    ActivationKind,
    NewPolicyVersion,
    PolicyStore,
    PolicyVersion,
)
from echo_shared.authz.validation import PolicyValidator, ValidatedPolicies
from echo_shared.events import EventEnvelope, EventPublisher, Outcome, new_event
from echo_shared.timeutil import Clock, utc_now

POLICY_PROPOSED = "authz.policy_proposed"
POLICY_REJECTED = "authz.policy_rejected"
POLICY_ACTIVATED = "authz.policy_activated"
POLICY_ROLLED_BACK = "authz.policy_rolled_back"


@dataclass(frozen=True, slots=True)
class PolicyOverview:
    tenant: str
    active_version: int
    revision: int
    active: PolicyVersion | None
    versions: list[PolicyVersion]
    baseline_version: str


@dataclass(frozen=True, slots=True)
class Proposal:
    version: PolicyVersion
    golden_checked: int


class PolicyAdministration:
    def __init__(
        self,
        *,
        store: PolicyStore,
        validator: PolicyValidator,
        publisher: EventPublisher,
        baseline_version: str,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._validator = validator
        self._publisher = publisher
        self._baseline_version = baseline_version
        self._clock = clock

    def overview(self, tenant: str) -> PolicyOverview:
        pointer = self._store.active(tenant)
        number = pointer.version if pointer else BASELINE_ONLY_VERSION
        versions = self._store.versions(tenant)
        active = next((v for v in versions if v.number == number), None)
        return PolicyOverview(
            tenant=tenant,
            active_version=number,
            revision=pointer.revision if pointer else 0,
            active=active,
            versions=versions,
            baseline_version=self._baseline_version,
        )

    def version(self, tenant: str, number: int) -> PolicyVersion:
        found = self._store.get(tenant, number)
        if found is None:
            raise PolicyVersionNotFound(f"policy version v{number} does not exist")
        return found

    def propose(
        self,
        tenant: str,
        *,
        policies: str,
        golden: Sequence[GoldenDecision],
        description: str,
        actor: str,
        request_id: str,
    ) -> Proposal:
        """Validate and store a new inactive version; a refusal is audited and re-raised."""
        validated = self._validated(
            tenant, policies, golden, actor=actor, request_id=request_id, version=None
        )
        stored = self._store.create(
            NewPolicyVersion(
                tenant=tenant,
                policies=validated.policies,
                digest=validated.digest,
                golden=validated.golden,
                description=description,
                created_at=self._clock(),
                created_by=actor,
            ),
            reported_by=lambda stored: [
                self._event(
                    POLICY_PROPOSED,
                    tenant,
                    actor,
                    request_id,
                    resource=f"policy:{stored.label}",
                    outcome=Outcome.SUCCESS,
                    data={
                        "version": stored.label,
                        "digest": stored.digest,
                        "policy_ids": list(validated.policy_ids),
                        "golden_checked": validated.golden_checked,
                    },
                )
            ],
        )
        return Proposal(stored, validated.golden_checked)

    def activate(self, tenant: str, number: int, *, actor: str, request_id: str) -> Activation:
        return self._move(tenant, number, ActivationKind.ACTIVATE, actor=actor, request_id=request_id)

    def rollback(self, tenant: str, number: int, *, actor: str, request_id: str) -> Activation:
        """Re-activate a version that was active before (v0, the baseline alone, always qualifies)."""
        return self._move(tenant, number, ActivationKind.ROLLBACK, actor=actor, request_id=request_id)

    def history(self, tenant: str) -> list[Activation]:
        return self._store.history(tenant)

    def _move(
        self, tenant: str, number: int, kind: ActivationKind, *, actor: str, request_id: str
    ) -> Activation:
        pointer = self._store.active(tenant)
        current = pointer.version if pointer else BASELINE_ONLY_VERSION
        if number == current:
            raise InvalidActivation(f"v{number} is already the active version")
        if kind is ActivationKind.ROLLBACK and number != BASELINE_ONLY_VERSION:
            history = self._store.history(tenant)
            earlier = {a.version for a in history} | {a.previous_version for a in history}
            if number not in earlier:
                raise InvalidActivation(f"v{number} was never active, so it is not a rollback target")
        digest = "baseline"
        if number != BASELINE_ONLY_VERSION:
            version = self.version(tenant, number)
            validated = self._validated(
                tenant, version.policies, version.golden, actor=actor, request_id=request_id, version=version
            )
            digest = validated.digest
        return self._store.activate(
            tenant,
            number,
            expected_revision=pointer.revision if pointer else 0,
            kind=kind,
            at=self._clock(),
            by=actor,
            reported_by=lambda activation: [
                self._event(
                    POLICY_ROLLED_BACK if kind is ActivationKind.ROLLBACK else POLICY_ACTIVATED,
                    tenant,
                    actor,
                    request_id,
                    resource=f"policy:v{number}",
                    outcome=Outcome.SUCCESS,
                    data={
                        "version": f"v{number}",
                        "previous_version": f"v{activation.previous_version}",
                        "revision": activation.revision,
                        "digest": digest,
                        "baseline_version": self._baseline_version,
                    },
                )
            ],
        )

    def _validated(
        self,
        tenant: str,
        policies: str,
        golden: Sequence[GoldenDecision],
        *,
        actor: str,
        request_id: str,
        version: PolicyVersion | None,
    ) -> ValidatedPolicies:
        try:
            return self._validator.validate(tenant, policies, golden)
        except PolicyRejected as exc:
            # A refusal changes nothing: its event is written on its own.
            publish_all(
                self._publisher,
                [
                    self._event(
                        POLICY_REJECTED,
                        tenant,
                        actor,
                        request_id,
                        resource=f"policy:{version.label}" if version else "policy:proposal",
                        outcome=Outcome.FAILURE,
                        data={
                            "stage": "activation" if version else "proposal",
                            "reason": type(exc).__name__,
                            "message": str(exc)[:500],
                            "problems": [problem[:300] for problem in exc.problems[:10]],
                        },
                    )
                ],
                failure=AuditNotRecorded,
            )
            raise

    def _event(
        self,
        type_: str,
        tenant: str,
        actor: str,
        request_id: str,
        *,
        resource: str,
        outcome: Outcome,
        data: dict[str, Any],
    ) -> EventEnvelope:
        return new_event(
            type=type_,
            tenant=tenant,
            actor=actor[:512],
            action=type_.removeprefix("authz."),
            resource=resource,
            outcome=outcome,
            request_id=request_id[:512] or "-",
            data=data,
            clock=self._clock,
        )
