"""The decision engine: baseline + one tenant's policies, evaluated by Cedar (cedarpy), fail closed.

Cedar skips a policy whose evaluation errors, so an erroring `forbid` would not stop a `permit`.
Echo turns every evaluation error into a deny, and every problem known before evaluation (a
missing entity, an unreachable store) into a deny without evaluating at all.
"""

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import cedarpy

from echo_shared.authz.catalog import PolicyCatalog, policy_names
from echo_shared.authz.errors import MalformedPolicy
from echo_shared.authz.model import (
    AuthzRequest,
    DocumentMetadata,
    Effect,
    Principal,
    PrincipalType,
    ResourceFacts,
    ResourceType,
)
from echo_shared.authz.scopes import PolicySlices, SliceKey, action_ancestors

BASELINE_ONLY_VERSION = 0
_POLICY_ID = re.compile(r"`(policy\d+)`")
MAX_ERROR_LENGTH = 300
# Principals and documents whose Cedar entities a warm container keeps (JSON text, parsed sets).
ENTITY_CACHE_SIZE = 2048
# Parsed entity documents of recent batches a warm container keeps.
BATCH_DOCUMENTS = 64


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
    # The set's slices per question shape: what Cedar evaluates (same answers, fewer policies).
    slices: PolicySlices

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
        self._entities = _EntityCache(catalog.schema)
        self._action_ancestors = action_ancestors(catalog.schema_document)
        self._baseline_slices = PolicySlices(catalog.baseline, self._action_ancestors)

    @property
    def catalog(self) -> PolicyCatalog:
        return self._catalog

    def compile(self, tenant: str, version: int, tenant_policies: str) -> CompiledPolicies:
        """Baseline + `tenant_policies`; raises MalformedPolicy when the text does not parse."""
        policy_set = self._catalog.baseline
        names: Mapping[str, str] = self._catalog.baseline_names
        slices = self._baseline_slices
        if tenant_policies.strip():
            try:
                policy_set = policy_set.with_added_str(tenant_policies)
                names = policy_names(policy_set)
                slices = PolicySlices(policy_set, self._action_ancestors)
            except ValueError as exc:
                raise MalformedPolicy("the policies do not parse", [_clip(str(exc))]) from None
        return CompiledPolicies(tenant, version, policy_set, names, self._catalog.baseline_version, slices)

    def evaluate(self, policies: CompiledPolicies, evaluations: Sequence[Evaluation]) -> list[Outcome]:
        """One outcome per evaluation, in order. The context gets `tenant`: where the question is asked.

        Identical questions (same principal facts, action, resource facts, context and tenant) are
        evaluated once: Cedar's decision is a pure function of them and of the policy set. So are
        questions on a Tenant that differ only in the principal's id, when policies name no entity
        but actions, roles and tenants: Cedar cannot observe an id but by comparing it with another
        entity's, and from such a question it reaches only the principal, its roles and tenants
        (none with attributes). Errors would name the principal, so a question whose stand-in
        erred is evaluated on its own.
        """
        outcomes: list[Outcome | None] = [None] * len(evaluations)
        unique: dict[_Question, list[int]] = {}
        for index, evaluation in enumerate(evaluations):
            if evaluation.problems or evaluation.resource is None:
                problems = evaluation.problems or (f"resource {evaluation.request.resource} not found",)
                outcomes[index] = Outcome(Effect.DENY, (), tuple(problems))
                continue
            unique.setdefault(self._entities.question(evaluation), []).append(index)
        for question, outcome in self._decide_unique(policies, list(unique)).items():
            for index in unique[question]:
                outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def evaluate_for_one_principal(
        self, policies: CompiledPolicies, evaluations: Sequence[Evaluation], *, chunk: int
    ) -> list[Outcome]:
        """`evaluate` for questions of one principal (a list), `chunk` questions per Cedar call.

        When policies name no entity but actions, roles and tenants, documents that differ only in
        ids are decided alike: Cedar cannot read an id, only compare it, and of the users a
        document names only the asker has an entity (so facts to read). What it sees of a document
        is then its tenant, classification, roles, and how the users it names compare with the
        asker and with each other: two documents alike in those are decided once, through the
        first. As for principals, a stand-in that erred has its lookalikes evaluated on their own.
        """
        alike: dict[object, list[int]] = {}
        for index, evaluation in enumerate(evaluations):
            key = None if policies.slices.principal_ids_may_count else _document_up_to_ids(evaluation)
            alike.setdefault(index if key is None else key, []).append(index)
        stand_ins = [evaluations[members[0]] for members in alike.values()]
        decided = [
            outcome
            for start in range(0, len(stand_ins), chunk)
            for outcome in self.evaluate(policies, stand_ins[start : start + chunk])
        ]
        outcomes: list[Outcome] = [_NOT_DECIDED] * len(evaluations)
        apart: list[int] = []
        for members, outcome in zip(alike.values(), decided, strict=True):
            outcomes[members[0]] = outcome
            for index in members[1:]:
                if outcome.errors:
                    apart.append(index)
                else:
                    outcomes[index] = outcome
        for start in range(0, len(apart), chunk):
            indexes = apart[start : start + chunk]
            for index, outcome in zip(
                indexes, self.evaluate(policies, [evaluations[i] for i in indexes]), strict=True
            ):
                outcomes[index] = outcome
        return outcomes

    def _decide_unique(
        self, policies: CompiledPolicies, questions: Sequence["_Question"]
    ) -> dict["_Question", Outcome]:
        if policies.slices.principal_ids_may_count or len(questions) < 2:
            return dict(zip(questions, self._decide(policies, questions), strict=True))
        alike: dict[object, list[_Question]] = {}
        for question in questions:
            alike.setdefault(question.up_to_principal_id, []).append(question)
        # Each set of lookalikes is asked through one principal per set of facts, the same in every
        # batch: a batch's entity document then names few principals, and often the same ones.
        stand_ins = [
            members[0] if key is members[0] else self._stand_in(members[0]) for key, members in alike.items()
        ]
        decided = dict(zip(stand_ins, self._decide(policies, stand_ins), strict=True))
        found: dict[_Question, Outcome] = {}
        apart: list[_Question] = []
        for stand_in, members in zip(stand_ins, alike.values(), strict=True):
            outcome = decided[stand_in]
            for question in members:
                # Errors name the principal: lookalikes of a stand-in that erred are evaluated apart.
                if question == stand_in or not outcome.errors:
                    found[question] = outcome
                else:
                    apart.append(question)
        if apart:
            found.update(zip(apart, self._decide(policies, apart), strict=True))
        return found

    def _stand_in(self, question: "_Question") -> "_Question":
        principal = self._entities.stand_in(question.principal)
        return question if principal == question.principal else replace(question, principal=principal)

    def _decide(self, policies: CompiledPolicies, questions: Sequence["_Question"]) -> list[Outcome]:
        if len(questions) == 1:
            question = questions[0]
            return self._evaluate(
                policies, questions, self._entities.of(question.principal, question.resource)
            )
        # Cedar takes one entity set per call: questions stating different facts about the same
        # uid (two callers' views of one principal, golden cases), or naming a user another
        # question brings an entity for (a document's owner asking too), are evaluated apart.
        groups: list[_Group] = []
        for question in questions:
            fragments = self._entities.fragments(question.principal, question.resource)
            absent = _named_users(question.principal, question.resource)
            group = next((g for g in groups if g.accepts(fragments, absent)), None)
            if group is None:
                group = _Group()
                groups.append(group)
            group.add(question, fragments, absent)
        outcomes: dict[_Question, Outcome] = {}
        for group in groups:
            # Parsed once into a handle: given the JSON text, Cedar redoes entity work per request.
            try:
                entities = self._entities.parsed(group.entities)
            except ValueError as exc:
                outcomes.update((question, _failed(exc)) for question in group.questions)
                continue
            results = self._evaluate(policies, group.questions, entities)
            outcomes.update(zip(group.questions, results, strict=True))
        return [outcomes[question] for question in questions]

    def _evaluate(
        self,
        policies: CompiledPolicies,
        questions: Sequence["_Question"],
        entities: str | cedarpy.Entities,
    ) -> list[Outcome]:
        """One Cedar call per question shape, each on the policies that can apply to that shape."""
        shapes: dict[SliceKey, list[int]] = {}
        for index, question in enumerate(questions):
            shapes.setdefault(question.shape, []).append(index)
        outcomes: list[Outcome] = [_NOT_DECIDED] * len(questions)
        for shape, indexes in shapes.items():
            requests = [questions[index].cedar_request for index in indexes]
            try:
                results = cedarpy.is_authorized_batch(
                    requests, policies.slices.for_question(*shape), entities, schema=self._catalog.schema
                )
            except (ValueError, TypeError) as exc:
                for index in indexes:
                    outcomes[index] = _failed(exc)
                continue
            for index, result in zip(indexes, results, strict=True):
                outcomes[index] = _outcome(result, policies.names)
        return outcomes


@dataclass(frozen=True, slots=True)
class _Question:
    """Everything a Cedar decision depends on besides the policy set (hashable: equal means same)."""

    principal: Principal
    action: str
    resource: ResourceFacts
    context_json: str
    # A question is a key of several dicts per batch: its hash is computed once.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_hash", hash((self.principal, self.action, self.resource, self.context_json))
        )

    def __hash__(self) -> int:
        return self._hash

    @property
    def up_to_principal_id(self) -> object:
        """What decides a question on a Tenant but the principal's id (see `evaluate`)."""
        if isinstance(self.resource, DocumentMetadata) or self.resource.type != ResourceType.TENANT.value:
            return self
        principal = self.principal
        facts = (principal.type, principal.tenant, principal.roles, principal.scopes)
        return (facts, self.action, self.resource, self.context_json)

    @property
    def shape(self) -> SliceKey:
        resource_type = (
            ResourceType.DOCUMENT.value if isinstance(self.resource, DocumentMetadata) else self.resource.type
        )
        return (self.principal.type.value, self.action, resource_type)

    @property
    def cedar_request(self) -> dict[str, Any]:
        return {
            "principal": self.principal.ref.uid(),
            "action": {"type": "Action", "id": self.action},
            "resource": _resource_uid(self.resource),
            "context": self.context_json,
        }


def _document_up_to_ids(evaluation: Evaluation) -> object:
    """What decides a question on a document but the ids (see `evaluate_for_one_principal`), or
    None for a question that is not on a known document."""
    document, request = evaluation.resource, evaluation.request
    if evaluation.problems or not isinstance(document, DocumentMetadata):
        return None
    principal = request.principal
    asker = principal.id if principal.type is PrincipalType.USER else None
    owner, shared = document.owner, document.shared_with_users
    relations = (owner == asker, asker in shared, owner in shared, len(shared - {asker, owner}))
    facts = (document.tenant, document.classification, document.shared_with_roles)
    return (
        principal,
        request.action,
        request.evaluation_tenant,
        tuple(sorted(request.context.items())),
        facts,
        relations,
    )


def _bare_context_json(tenant: str) -> str:
    return _context_json(tenant, {})


def _context_json(tenant: str, context: Mapping[str, Any]) -> str:
    asked_in = {"__entity": _ref(ResourceType.TENANT.value, tenant)}
    return json.dumps({**context, "tenant": asked_in}, sort_keys=True)


class _Group:
    """Questions that can share one entity set: no two state different facts about a uid, and no
    uid one question must see without an entity (`absent`) is another's entity."""

    def __init__(self) -> None:
        self.questions: list[_Question] = []
        self.entities: dict[tuple[str, str], str] = {}
        self.absent: set[tuple[str, str]] = set()

    def accepts(self, fragments: Mapping[tuple[str, str], str], absent: frozenset[tuple[str, str]]) -> bool:
        return (
            all(self.entities.get(uid, fragment) == fragment for uid, fragment in fragments.items())
            and self.absent.isdisjoint(fragments)
            and absent.isdisjoint(self.entities)
        )

    def add(
        self,
        question: _Question,
        fragments: Mapping[tuple[str, str], str],
        absent: frozenset[tuple[str, str]],
    ) -> None:
        self.questions.append(question)
        for uid, fragment in fragments.items():
            self.entities.setdefault(uid, fragment)
        self.absent |= absent


def _named_users(principal: Principal, resource: ResourceFacts) -> frozenset[tuple[str, str]]:
    """The users a document names but the asker: a single check has no entity for them (a policy
    reading their facts errs), so neither may the batch the question is in."""
    if not isinstance(resource, DocumentMetadata):
        return frozenset()
    user = PrincipalType.USER.value
    named = {(user, owner) for owner in (resource.owner, *resource.shared_with_users)}
    return frozenset(named - {(principal.type.value, principal.id)})


def _entity_document(fragments: Iterable[str]) -> str:
    return "[" + ",".join(fragments) + "]"


_MISSING: Any = object()


class _Memo[K, V]:
    """A bounded memo: the oldest entry goes first when it is full (warm containers, many callers)."""

    def __init__(self, build: Callable[[K], V], capacity: int) -> None:
        self._build = build
        self._capacity = capacity
        self._entries: dict[K, V] = {}

    def __call__(self, key: K) -> V:
        value = self._entries.get(key, _MISSING)
        if value is _MISSING:
            value = self._build(key)
            if len(self._entries) >= self._capacity:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = value
        return value


class _EntityCache:
    """Cedar entities as JSON fragments per fact (principal, document, tenant), each built once, and
    the parsed entities of each principal and each document seen.

    A batch joins the fragments of its questions into one entity document and parses it once. A
    single question reuses what Cedar parsed before: the document's entity (the costliest to parse)
    with the principal's facts added, or the principal's own entities for a question on its tenant.
    Parsed sets are validated against the schema when built, as Cedar validates the text.
    """

    def __init__(self, schema: cedarpy.Schema, capacity: int = ENTITY_CACHE_SIZE) -> None:
        self._schema = schema
        self._principal_fragments = _Memo(_principal_fragments, capacity)
        self._document_fragment = _Memo(_document_fragment, capacity)
        self._tenant_fragment = _Memo(_tenant_fragment, capacity)
        self._bare_context: _Memo[str, str] = _Memo(_bare_context_json, capacity)
        self._principal_entities = _Memo(self._parse_principal, capacity)
        self._document_entities = _Memo(self._parse_document, capacity)
        self._capacity = capacity
        self._stand_ins: dict[object, Principal] = {}
        self._documents: _Memo[str, cedarpy.Entities | str] = _Memo(self._parse_batch, BATCH_DOCUMENTS)

    def stand_in(self, principal: Principal) -> Principal:
        """The first principal seen with the same facts but the id (see `DecisionEngine.evaluate`)."""
        facts = (principal.type, principal.tenant, principal.roles, principal.scopes)
        found = self._stand_ins.get(facts)
        if found is None:
            if len(self._stand_ins) >= self._capacity:
                self._stand_ins.clear()
            found = self._stand_ins[facts] = principal
        return found

    def parsed(self, fragments: Mapping[tuple[str, str], str]) -> cedarpy.Entities:
        """The entity document of these fragments, parsed (kept: batches often repeat a document).
        Raises ValueError as Cedar does when they do not parse."""
        found = self._documents(_entity_document(fragments[uid] for uid in sorted(fragments)))
        if isinstance(found, str):
            raise ValueError(found)  # a fresh one each time: a kept exception would keep tracebacks
        return found

    def _parse_batch(self, document: str) -> cedarpy.Entities | str:
        try:
            return cedarpy.Entities.from_json_str(document, self._schema)
        except ValueError as exc:
            return str(exc)

    def of(self, principal: Principal, resource: ResourceFacts) -> str | cedarpy.Entities:
        """The entities of one question: parsed facts reused when they parse, else the text."""
        if isinstance(resource, DocumentMetadata):
            base = self._document_entities(resource)
            added = dict(self._principal_fragments(principal))
            if resource.tenant != principal.tenant:
                added[(ResourceType.TENANT.value, resource.tenant)] = self._tenant_fragment(resource.tenant)
        else:
            base = self._principal_entities(principal)
            added = self._resource_fragments(principal, resource)
        if base is not None and not added:
            return base
        if base is not None:
            try:
                return base.with_added_json_str(_entity_document(added.values()), self._schema)
            except ValueError:
                pass  # the text below gets Cedar's own error, as before
        return _entity_document(self.fragments(principal, resource).values())

    def _parse_principal(self, principal: Principal) -> cedarpy.Entities | None:
        return self._parse(self._principal_fragments(principal).values())

    def _parse_document(self, document: DocumentMetadata) -> cedarpy.Entities | None:
        return self._parse([self._document_fragment(document)])

    def _parse(self, fragments: Iterable[str]) -> cedarpy.Entities | None:
        try:
            return cedarpy.Entities.from_json_str(_entity_document(fragments), self._schema)
        except ValueError:
            return None

    def question(self, evaluation: Evaluation) -> _Question:
        request, resource = evaluation.request, evaluation.resource
        assert resource is not None
        tenant = request.evaluation_tenant
        context = _context_json(tenant, request.context) if request.context else self._bare_context(tenant)
        return _Question(request.principal, request.action, resource, context)

    def fragments(self, principal: Principal, resource: ResourceFacts) -> dict[tuple[str, str], str]:
        found = dict(self._principal_fragments(principal))
        found.update(self._resource_fragments(principal, resource))
        return found

    def _resource_fragments(
        self, principal: Principal, resource: ResourceFacts
    ) -> dict[tuple[str, str], str]:
        tenant = ResourceType.TENANT.value
        if isinstance(resource, DocumentMetadata):
            found = {(ResourceType.DOCUMENT.value, resource.document_id): self._document_fragment(resource)}
            if resource.tenant != principal.tenant:
                found[(tenant, resource.tenant)] = self._tenant_fragment(resource.tenant)
            return found
        if resource.type == tenant and resource.id == principal.tenant:
            return {}
        if resource.type == tenant:
            return {(tenant, resource.id): self._tenant_fragment(resource.id)}
        return {(resource.type, resource.id): json.dumps(_entity(resource.uid()))}


_NOT_DECIDED = Outcome(Effect.DENY, (), ("not decided",))


def _failed(exc: Exception) -> Outcome:
    return Outcome(Effect.DENY, (), (f"evaluation failed: {_clip(str(exc))}",))


def _resource_uid(resource: ResourceFacts) -> dict[str, str]:
    return resource.ref.uid() if isinstance(resource, DocumentMetadata) else resource.uid()


def _outcome(result: cedarpy.AuthzResult, names: Mapping[str, str]) -> Outcome:
    # Sorted: Cedar reports them in no fixed order, and the same question must read the same.
    errors = tuple(
        sorted(
            _clip(_POLICY_ID.sub(lambda m: f"`{names.get(m[1], m[1])}`", e))
            for e in result.diagnostics.errors
        )
    )
    reasons = tuple(sorted(names.get(policy_id, policy_id) for policy_id in result.diagnostics.reasons))
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


def _tenant_fragment(tenant: str) -> str:
    return json.dumps(_entity(_ref(ResourceType.TENANT.value, tenant)))


def _principal_fragments(principal: Principal) -> dict[tuple[str, str], str]:
    tenant = ResourceType.TENANT.value
    tenant_ref = {"__entity": _ref(tenant, principal.tenant)}
    found = {(tenant, principal.tenant): _tenant_fragment(principal.tenant)}
    if principal.type is PrincipalType.USER:
        roles = [_ref("Role", role) for role in sorted(principal.roles)]
        found.update((("Role", role["id"]), json.dumps(_entity(role))) for role in roles)
        attrs: dict[str, Any] = {"tenant": tenant_ref}
        if principal.scopes is not None:  # a token's principal: its scopes bound what the roles allow
            attrs["scopes"] = sorted(principal.scopes)
        user = _entity(principal.ref.uid(), attrs, roles)
        found[(principal.type.value, principal.id)] = json.dumps(user)
    else:
        client = _entity(
            principal.ref.uid(), {"tenant": tenant_ref, "scopes": sorted(principal.scopes or ())}
        )
        found[(principal.type.value, principal.id)] = json.dumps(client)
    return found


def _document_fragment(document: DocumentMetadata) -> str:
    tenant = ResourceType.TENANT.value
    attrs = {
        "tenant": {"__entity": _ref(tenant, document.tenant)},
        "owner": {"__entity": _ref("User", document.owner)},
        "shared_with_users": [{"__entity": _ref("User", u)} for u in sorted(document.shared_with_users)],
        "shared_with_roles": [{"__entity": _ref("Role", r)} for r in sorted(document.shared_with_roles)],
        "classification": document.classification.value,
    }
    return json.dumps(_entity(document.ref.uid(), attrs))
