"""The schema, the baseline policies and their golden decisions, read from package data once.

`cedar/schema.cedarschema.json` is the source of truth for entity types and actions; the action
catalog used to reject malformed questions is derived from it, so the two cannot drift.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import cedarpy

from echo_shared.authz.errors import InvalidAuthzRequest
from echo_shared.authz.golden import GoldenDecision, GoldenSet
from echo_shared.lazy import cached_resource

SCHEMA_FILE = "schema.cedarschema.json"
BASELINE_FILE = "baseline.cedar"
GOLDEN_FILE = "golden_decisions.json"
BASELINE_ID_PREFIX = "baseline."


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    principal_types: frozenset[str]
    resource_types: frozenset[str]


@dataclass(frozen=True, slots=True)
class PolicyCatalog:
    schema: cedarpy.Schema
    schema_document: Mapping[str, Any]
    baseline_text: str
    baseline: cedarpy.PolicySet
    # Cedar's positional policy id -> the policy's @id, for every baseline policy.
    baseline_names: Mapping[str, str]
    baseline_digest: str
    actions: Mapping[str, ActionSpec]
    entity_types: frozenset[str]
    golden: tuple[GoldenDecision, ...]

    @property
    def baseline_version(self) -> str:
        return f"baseline-{self.baseline_digest[:12]}"

    def action(self, name: str) -> ActionSpec:
        spec = self.actions.get(name)
        if spec is None:
            raise InvalidAuthzRequest(f"unknown action {name!r}")
        return spec

    def check_shape(self, principal_type: str, action: str, resource_type: str) -> None:
        """Refuse a question the schema cannot express, before anything is evaluated."""
        for entity_type, what in ((principal_type, "principal"), (resource_type, "resource")):
            if entity_type not in self.entity_types:
                raise InvalidAuthzRequest(f"unknown {what} entity type {entity_type!r}")
        spec = self.action(action)
        if principal_type not in spec.principal_types:
            raise InvalidAuthzRequest(
                f"action {action!r} does not apply to principals of type {principal_type}"
            )
        if resource_type not in spec.resource_types:
            raise InvalidAuthzRequest(
                f"action {action!r} does not apply to resources of type {resource_type}"
            )


def _read(name: str) -> str:
    return resources.files(__package__).joinpath("cedar", name).read_text(encoding="utf-8")


def policy_names(policy_set: cedarpy.PolicySet) -> dict[str, str]:
    """Cedar policy id -> the @id annotation (or the Cedar id when there is none)."""
    return {
        policy_id: policy.annotations.get("id", policy_id)
        for policy_id, policy in policy_set.to_pst().static_policies.items()
    }


def build_catalog(schema_text: str, baseline_text: str, golden_text: str) -> PolicyCatalog:
    document = json.loads(schema_text)
    namespace = document[""]
    actions = {
        name: ActionSpec(
            name=name,
            principal_types=frozenset(spec["appliesTo"]["principalTypes"]),
            resource_types=frozenset(spec["appliesTo"]["resourceTypes"]),
        )
        for name, spec in namespace["actions"].items()
    }
    baseline = cedarpy.PolicySet.from_str(baseline_text)
    return PolicyCatalog(
        schema=cedarpy.Schema.from_json_str(schema_text),
        schema_document=document,
        baseline_text=baseline_text,
        baseline=baseline,
        baseline_names=policy_names(baseline),
        baseline_digest=hashlib.sha256((schema_text + "\n" + baseline_text).encode()).hexdigest(),
        actions=actions,
        entity_types=frozenset(namespace["entityTypes"]),
        golden=tuple(GoldenSet.model_validate_json(golden_text).decisions),
    )


def packaged_catalog() -> PolicyCatalog:
    """Parse the schema, baseline and golden decisions shipped in this package (uncached)."""
    return build_catalog(_read(SCHEMA_FILE), _read(BASELINE_FILE), _read(GOLDEN_FILE))


@cached_resource
def load_catalog() -> PolicyCatalog:
    """The packaged catalog, parsed once per process."""
    return packaged_catalog()
