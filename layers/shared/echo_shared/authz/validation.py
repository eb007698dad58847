"""Checks a tenant policy set must pass before it becomes a version and again before it activates.

In order: size limits, Cedar syntax, Echo's rules (every policy has a unique @id, none reuses a
reserved `baseline.` id, no templates), schema validation, then the golden decisions: the
baseline's invariants and the tenant's own cases, evaluated on baseline + candidate together.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cedarpy

from echo_shared.authz.catalog import BASELINE_ID_PREFIX, PolicyCatalog
from echo_shared.authz.engine import CompiledPolicies, DecisionEngine, Evaluation
from echo_shared.authz.errors import (
    BaselineOverride,
    GoldenDecisionFailed,
    InvalidAuthzRequest,
    MalformedPolicy,
    PolicySetTooLarge,
    SchemaViolation,
    UnsupportedPolicy,
)
from echo_shared.authz.golden import GoldenDecision

MAX_POLICY_BYTES = 64 * 1024
MAX_TENANT_POLICIES = 100
MAX_GOLDEN_DECISIONS = 100
MAX_REPORTED_PROBLEMS = 10
_POLICY_ID = re.compile(r"`(policy\d+)`")
# A candidate is compiled under no version number: it is not stored yet.
_CANDIDATE_VERSION = -1


@dataclass(frozen=True, slots=True)
class ValidatedPolicies:
    tenant: str
    policies: str
    digest: str
    policy_ids: tuple[str, ...]
    golden: tuple[GoldenDecision, ...]
    golden_checked: int


def policy_digest(policies: str) -> str:
    return "sha256:" + hashlib.sha256(policies.encode()).hexdigest()


class PolicyValidator:
    def __init__(self, engine: DecisionEngine) -> None:
        self._engine = engine
        self._catalog: PolicyCatalog = engine.catalog

    def validate(
        self, tenant: str, policies: str, golden: Sequence[GoldenDecision] = ()
    ) -> ValidatedPolicies:
        size = len(policies.encode())
        if size > MAX_POLICY_BYTES:
            raise PolicySetTooLarge(f"the policy text is {size} bytes; the limit is {MAX_POLICY_BYTES}")
        if len(golden) > MAX_GOLDEN_DECISIONS:
            raise PolicySetTooLarge(
                f"{len(golden)} golden decisions; the limit is {MAX_GOLDEN_DECISIONS} per version"
            )
        ids, names = self._check_structure(policies)
        self._check_schema(policies, names)
        self._check_golden_shapes(golden)
        compiled = self._engine.compile(tenant, _CANDIDATE_VERSION, policies)
        cases = [case for case in self._catalog.golden if case.invariant] + list(golden)
        failures = self.failed_golden(compiled, cases)
        if failures:
            raise GoldenDecisionFailed(
                f"{len(failures)} of {len(cases)} golden decisions fail", failures[:MAX_REPORTED_PROBLEMS]
            )
        return ValidatedPolicies(
            tenant=tenant,
            policies=policies,
            digest=policy_digest(policies),
            policy_ids=ids,
            golden=tuple(golden),
            golden_checked=len(cases),
        )

    def failed_golden(self, compiled: CompiledPolicies, cases: Sequence[GoldenDecision]) -> list[str]:
        evaluations = [Evaluation(*case.materialize(compiled.tenant)) for case in cases]
        outcomes = self._engine.evaluate(compiled, evaluations)
        return [
            f"{case.name!r}: expected {case.expect.value}, got {outcome.effect.value}"
            + (f" ({outcome.errors[0]})" if outcome.errors else "")
            for case, outcome in zip(cases, outcomes, strict=True)
            if outcome.effect is not case.expect
        ]

    def _check_structure(self, policies: str) -> tuple[tuple[str, ...], dict[str, str]]:
        """The policies' @ids, and Cedar's positional ids -> @ids (for readable error messages)."""
        if not policies.strip():
            return (), {}
        try:
            parsed = cedarpy.PolicySet.from_str(policies).to_pst()
        except ValueError as exc:
            raise MalformedPolicy("the policies do not parse", [str(exc)[:300]]) from None
        if parsed.templates or parsed.template_links:
            raise UnsupportedPolicy("templates (?principal / ?resource slots) are not supported")
        count = len(parsed.static_policies)
        if count > MAX_TENANT_POLICIES:
            raise PolicySetTooLarge(f"{count} policies; the limit is {MAX_TENANT_POLICIES}")
        ids: list[str] = []
        problems: list[str] = []
        for position, policy in enumerate(parsed.static_policies.values(), start=1):
            policy_id = policy.annotations.get("id")
            if not policy_id:
                problems.append(f'policy #{position} has no @id("...") annotation')
            elif policy_id in ids:
                problems.append(f"@id {policy_id!r} is used twice")
            else:
                ids.append(policy_id)
        if problems:
            raise UnsupportedPolicy("every tenant policy needs its own @id", problems[:MAX_REPORTED_PROBLEMS])
        reserved = [policy_id for policy_id in ids if policy_id.startswith(BASELINE_ID_PREFIX)]
        if reserved:
            raise BaselineOverride(
                "tenant policies cannot redefine or replace baseline policies (ids starting with "
                f"{BASELINE_ID_PREFIX!r} are reserved)",
                reserved[:MAX_REPORTED_PROBLEMS],
            )
        names = {policy_id: policy.annotations["id"] for policy_id, policy in parsed.static_policies.items()}
        return tuple(ids), names

    def _check_schema(self, policies: str, names: dict[str, str]) -> None:
        if not policies.strip():
            return
        result = cedarpy.validate_policies(policies, self._catalog.schema)
        if not result.validation_passed:
            problems = sorted(
                {
                    _POLICY_ID.sub(lambda m: f"`{names.get(m[1], m[1])}`", error.error)
                    for error in result.errors
                }
            )
            raise SchemaViolation("the policies do not match the schema", problems[:MAX_REPORTED_PROBLEMS])

    def _check_golden_shapes(self, golden: Sequence[GoldenDecision]) -> None:
        problems = []
        for case in golden:
            try:
                self._catalog.check_shape(case.principal.type.value, case.action, case.resource.type.value)
            except InvalidAuthzRequest as exc:
                problems.append(f"{case.name!r}: {exc}")
        if problems:
            raise GoldenDecisionFailed(
                "golden decisions ask questions the schema cannot express", problems[:MAX_REPORTED_PROBLEMS]
            )
