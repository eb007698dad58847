"""Which policies of a set can apply to a question, read from their scopes alone.

Cedar evaluates every policy of the set it is given. A policy whose scope (principal type, action,
resource type) cannot match a question is false for it without evaluating its conditions: scope
tests (`==`, `in`, `is`) never error, so such a policy adds no reason and no error. Evaluating a
question on the set's slice for its (principal type, action, resource type) therefore gives the
same decision, reasons and errors as the whole set, for less of Cedar's time. Slices keep the
set's policy ids, so reasons and errors name the same policies.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import cedarpy
from cedarpy import pst

type SliceKey = tuple[str, str, str]
# Entities Echo builds without attributes: naming one in a policy reveals nothing about principals.
ATTRIBUTE_FREE_TYPES = ("Action", "Role", "Tenant")


class PolicySlices:
    """The slices of one parsed policy set, built on first use (at most one per question shape)."""

    def __init__(
        self,
        policy_set: cedarpy.PolicySet,
        action_ancestors: Mapping[str, frozenset[str]],
        attribute_free_types: Iterable[str] = ATTRIBUTE_FREE_TYPES,
    ) -> None:
        self._whole = policy_set
        self._ancestors = action_ancestors
        tree = policy_set.to_pst()
        plain = set(attribute_free_types)
        # Whether a policy names an entity through which a principal's id could count: a principal
        # (User::"alice") or an entity with attributes that may refer to one (Document::"d1").
        self.principal_ids_may_count = any(
            uid.type.namespace or uid.type.basename not in plain
            for uid in pst.entity_uids(
                (*tree.static_policies.values(), *tree.templates.values(), *tree.template_links)
            )
        )
        # Templates and links are not sliced (Echo refuses them; kept whole should they appear).
        self._policies = None if tree.templates or tree.template_links else dict(tree.static_policies)
        self._slices: dict[SliceKey, cedarpy.PolicySet] = {}

    def for_question(self, principal_type: str, action: str, resource_type: str) -> cedarpy.PolicySet:
        key = (principal_type, action, resource_type)
        found = self._slices.get(key)
        if found is None:
            found = self._slices[key] = self._slice(key)
        return found

    def policy_ids(self, principal_type: str, action: str, resource_type: str) -> frozenset[str]:
        """The ids of the policies that may apply (for tests and diagnostics)."""
        if self._policies is None:
            return frozenset(self._whole.to_pst().static_policies)
        return frozenset(self._applicable((principal_type, action, resource_type)))

    def _slice(self, key: SliceKey) -> cedarpy.PolicySet:
        if self._policies is None:
            return self._whole
        kept = self._applicable(key)
        if len(kept) == len(self._policies):
            return self._whole
        return cedarpy.PolicySet.from_pst(
            pst.PolicySet(templates={}, static_policies=kept, template_links=())
        )

    def _applicable(self, key: SliceKey) -> dict[str, pst.Template]:
        principal_type, action, resource_type = key
        assert self._policies is not None
        groups = {action} | self._ancestors.get(action, frozenset())
        return {
            policy_id: policy
            for policy_id, policy in self._policies.items()
            if _action_may_match(policy.action, action, groups)
            and _entity_may_match(policy.principal, principal_type)
            and _entity_may_match(policy.resource, resource_type)
        }


def action_ancestors(schema_document: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Action -> the action groups it is (transitively) a member of, from the schema's `memberOf`."""
    actions: Mapping[str, Any] = schema_document.get("", {}).get("actions", {})
    parents = {
        name: [member["id"] for member in spec.get("memberOf") or () if "id" in member]
        for name, spec in actions.items()
    }
    found: dict[str, frozenset[str]] = {}
    for name in parents:
        seen: set[str] = set()
        stack = list(parents[name])
        while stack:
            group = stack.pop()
            if group not in seen:
                seen.add(group)
                stack.extend(parents.get(group, ()))
        found[name] = frozenset(seen)
    return found


def _plain(entity_type: pst.EntityType, name: str) -> bool:
    return entity_type.basename == name and not entity_type.namespace


def _action_may_match(
    constraint: pst.ActionConstraint, action: str, groups: frozenset[str] | set[str]
) -> bool:
    if isinstance(constraint, pst.ActionEq):
        return _is_action(constraint.entity, {action})
    if isinstance(constraint, pst.ActionIn):
        return any(_is_action(entity, groups) for entity in constraint.entities)
    return True


def _is_action(entity: pst.EntityUid, names: Iterable[str]) -> bool:
    # A namespaced action (or any other type) is kept: only a sure mismatch drops a policy.
    return not _plain(entity.type, "Action") or entity.id in set(names)


def _entity_may_match(constraint: pst.PrincipalOrResourceConstraint, entity_type: str) -> bool:
    if isinstance(constraint, pst.ScopeIs | pst.ScopeIsIn):
        return bool(constraint.entity_type.namespace) or _plain(constraint.entity_type, entity_type)
    if isinstance(constraint, pst.ScopeEq) and isinstance(constraint.entity, pst.EntityUid):
        return bool(constraint.entity.type.namespace) or _plain(constraint.entity.type, entity_type)
    # `in` (any descendant, of any type), slots and no constraint: may match.
    return True
