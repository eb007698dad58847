"""The decision engine: baseline + one tenant's policies, evaluated by Cedar (cedarpy), fail closed.

Cedar skips a policy whose evaluation errors, so an erroring `forbid` would not stop a `permit`.
Echo turns every evaluation error into a deny, and every problem known before evaluation (a
missing entity, an unreachable store) into a deny without evaluating at all.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cedarpy

from echo_shared.authz.catalog import PolicyCatalog, policy_names
from echo_shared.authz.errors import MalformedPolicy
from echo_shared.authz.model import (
    AuthzRequest,
    DocumentMetadata,
    Effect,
    EntityRef,
    Principal,
    PrincipalType,
    ResourceFacts,
    ResourceType,
)

BASELINE_ONLY_VERSION = 0
_POLICY_ID = re.compile(r"`(policy\d+)`")
MAX_ERROR_LENGTH = 300


def version_label(number: int) -> str:
    return f"v{number}"


@dataclass(frozen=True, slots=True)
class CompiledPolicies:
    """A tenant's effective policy set, parsed once: the baseline plus one tenant version."""

    tenant: str
    version: int
    policy_set: cedarpy.PolicySet
    names: Mapping[str, str]
    baseline_version: str

    @property
    def version_label(self) -> str:
        return version_label(self.version)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A question with everything Cedar needs. `problems` are known before evaluating (fail closed)."""

    request: AuthzRequest
    resource: ResourceFacts | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    effect: Effect
    reasons: tuple[str, ...]
    errors: tuple[str, ...]


class DecisionEngine:
    def __init__(self, catalog: PolicyCatalog) -> None:
        self._catalog = catalog

    @property
    def catalog(self) -> PolicyCatalog:
        return self._catalog

    def compile(self, tenant: str, version: int, tenant_policies: str) -> CompiledPolicies:
        """Baseline + `tenant_policies`; raises MalformedPolicy when the text does not parse."""
        policy_set = self._catalog.baseline
        names: Mapping[str, str] = self._catalog.baseline_names
        if tenant_policies.strip():
            try:
                policy_set = policy_set.with_added_str(tenant_policies)
                names = policy_names(policy_set)
            except ValueError as exc:
                raise MalformedPolicy("the policies do not parse", [_clip(str(exc))]) from None
        return CompiledPolicies(tenant, version, policy_set, names, self._catalog.baseline_version)

    def evaluate(self, policies: CompiledPolicies, evaluations: Sequence[Evaluation]) -> list[Outcome]:
        """One outcome per evaluation, in order. The context gets `tenant`: where the question is asked."""
        outcomes: list[Outcome | None] = [None] * len(evaluations)
        groups: list[_Group] = []
        for index, evaluation in enumerate(evaluations):
            if evaluation.problems or evaluation.resource is None:
                problems = evaluation.problems or (f"resource {evaluation.request.resource} not found",)
                outcomes[index] = Outcome(Effect.DENY, (), tuple(problems))
                continue
            entities = _entities(evaluation.request.principal, evaluation.resource)
            # Cedar takes one entity set per call: questions stating different facts about the same
            # uid (two callers' views of one principal, golden cases) are evaluated apart.
            group = next((g for g in groups if g.accepts(entities)), None)
            if group is None:
                group = _Group()
                groups.append(group)
            group.add(index, entities)
        for group in groups:
            results = self._evaluate_group(policies, [evaluations[i] for i in group.indexes], group.entities)
            for index, outcome in zip(group.indexes, results, strict=True):
                outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def _evaluate_group(
        self,
        policies: CompiledPolicies,
        evaluations: Sequence[Evaluation],
        entities: Mapping[tuple[str, str], dict[str, Any]],
    ) -> list[Outcome]:
        requests = [
            {
                "principal": evaluation.request.principal.ref.uid(),
                "action": {"type": "Action", "id": evaluation.request.action},
                "resource": evaluation.request.resource.uid(),
                "context": {
                    **evaluation.request.context,
                    "tenant": {
                        "__entity": _ref(ResourceType.TENANT.value, evaluation.request.evaluation_tenant)
                    },
                },
            }
            for evaluation in evaluations
        ]
        try:
            results = cedarpy.is_authorized_batch(
                requests,
                policies.policy_set,
                json.dumps(list(entities.values())),
                schema=self._catalog.schema,
            )
        except (ValueError, TypeError) as exc:
            error = f"evaluation failed: {_clip(str(exc))}"
            return [Outcome(Effect.DENY, (), (error,)) for _ in evaluations]
        return [_outcome(result, policies.names) for result in results]


class _Group:
    def __init__(self) -> None:
        self.indexes: list[int] = []
        self.entities: dict[tuple[str, str], dict[str, Any]] = {}

    def accepts(self, entities: Sequence[dict[str, Any]]) -> bool:
        return all(self.entities.get(_key(entity), entity) == entity for entity in entities)

    def add(self, index: int, entities: Sequence[dict[str, Any]]) -> None:
        self.indexes.append(index)
        for entity in entities:
            self.entities.setdefault(_key(entity), entity)


def _key(entity: dict[str, Any]) -> tuple[str, str]:
    return entity["uid"]["type"], entity["uid"]["id"]


def _outcome(result: cedarpy.AuthzResult, names: Mapping[str, str]) -> Outcome:
    errors = tuple(
        _clip(_POLICY_ID.sub(lambda m: f"`{names.get(m[1], m[1])}`", e)) for e in result.diagnostics.errors
    )
    reasons = tuple(names.get(policy_id, policy_id) for policy_id in result.diagnostics.reasons)
    if result.decision is cedarpy.Decision.Allow and not errors:
        return Outcome(Effect.ALLOW, reasons, ())
    if result.decision is cedarpy.Decision.Allow:
        # An erroring policy (maybe a forbid) was skipped by Cedar: the permit is not trusted.
        return Outcome(Effect.DENY, (), errors)
    return Outcome(Effect.DENY, reasons, errors)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


def _ref(type_: str, id_: str) -> dict[str, str]:
    return {"type": type_, "id": id_}


def _entity(
    uid: dict[str, str], attrs: dict[str, Any] | None = None, parents: list[Any] | None = None
) -> dict[str, Any]:
    return {"uid": uid, "attrs": attrs or {}, "parents": parents or []}


def _entities(principal: Principal, resource: ResourceFacts) -> list[dict[str, Any]]:
    tenant = ResourceType.TENANT.value
    found = [_entity(_ref(tenant, principal.tenant))]
    if principal.type is PrincipalType.USER:
        roles = [_ref("Role", role) for role in sorted(principal.roles)]
        found += [_entity(role) for role in roles]
        user: dict[str, Any] = {"tenant": {"__entity": _ref(tenant, principal.tenant)}}
        if principal.scopes is not None:  # a token's principal: its scopes bound what the roles allow
            user["scopes"] = sorted(principal.scopes)
        found.append(_entity(principal.ref.uid(), user, roles))
    else:
        attrs = {
            "tenant": {"__entity": _ref(tenant, principal.tenant)},
            "scopes": sorted(principal.scopes or ()),
        }
        found.append(_entity(principal.ref.uid(), attrs))
    if isinstance(resource, DocumentMetadata):
        found.append(_entity(_ref(tenant, resource.tenant)))
        found.append(
            _entity(
                resource.ref.uid(),
                {
                    "tenant": {"__entity": _ref(tenant, resource.tenant)},
                    "owner": {"__entity": _ref("User", resource.owner)},
                    "shared_with_users": [
                        {"__entity": _ref("User", u)} for u in sorted(resource.shared_with_users)
                    ],
                    "shared_with_roles": [
                        {"__entity": _ref("Role", r)} for r in sorted(resource.shared_with_roles)
                    ],
                    "classification": resource.classification.value,
                },
            )
        )
    elif isinstance(resource, EntityRef):
        found.append(_entity(resource.uid()))
    return found
