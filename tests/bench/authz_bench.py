"""Authorization benchmark: in-process Cedar decisions, batches, and the same RBAC model in pycasbin.

`run()` returns the figures (it prints nothing). The measurement needs `echo_shared` importable, as
it is inside a Lambda (the shared layer); when the bench runner's interpreter does not have it on
its path, `run()` measures in a child interpreter whose path holds the layer, like the runtime's.

Figures (one run, some seconds), each beside a baseline measured in the same run:
- `in_process_check`: `AuthzClient.check` with policies pre-parsed and the audit event built and
  handed to an in-memory bus (what a function pays per decision, minus the network publish),
  against `raw_cedarpy_check`: `cedarpy.is_authorized` on the same questions with the same policy
  set pre-parsed, the same schema handle and the same entities (the Cedar entity list, built
  beforehand); `raw_cedarpy_check_entities_as_json` hands Cedar that list already serialized, and
  `raw_cedarpy_parsed_entities` is Cedar's floor (entities pre-parsed per question, unrealistic);
- `engine_only`: Echo's engine alone (no validation, no audit);
- `batch`: `check_batch` of 100 questions, against raw `is_authorized_batch` (one entity document);
- `rbac_comparison`: one RBAC question set (roles -> actions on a tenant, tenant domains) answered
  by Echo (`check`, `check_batch`: validation and audit included) and by pycasbin's
  RBAC-with-domains model (`enforce`, `batch_enforce`), both pre-loaded, same answers; beside them
  raw `is_authorized_batch` on the same chunks (baseline pre-parsed, entity lists built beforehand,
  every question evaluated): what Cedar's batch API costs alone, against the same pycasbin figure;
- `list`: `list_resources` over 10,000 candidate documents, and whether it equals the allowed
  single checks.
`render()` turns them into a table with each figure, its baseline and the goal.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TENANT = "bench"
OTHER = "rival"
ROLES = ("admin", "auditor", "member", "viewer")
SINGLE_ITERATIONS = 2000
BATCHES = 20
BATCH_SIZE = 100
SEED = 20260105
LIST_DOCUMENTS = 10_000
# Goals (issue 10): Echo's own overhead under 20%, batches 3x pycasbin.
GOAL_CHECK_TO_RAW = 1.2
GOAL_BATCH_TO_CASBIN = 3.0
GOAL_FUNCTION_CHECK_MS = 2.0

# Baseline grants on the Tenant resource, role -> actions (the RBAC part of baseline.cedar).
RBAC_GRANTS: dict[str, tuple[str, ...]] = {
    "admin": ("audit:read", "audit:verify", "log:read", "policy:admin", "user:admin", "document:create"),
    "auditor": ("audit:read", "audit:verify"),
    "member": ("document:create",),
}
TENANT_POLICIES = """
@id("bench.auditors-read-logs")
permit (principal in Role::"auditor", action == Action::"log:read", resource is Tenant);

@id("bench.mfa-for-user-admin")
forbid (principal, action == Action::"user:admin", resource)
when { context has mfa && !context.mfa };
"""
CASBIN_MODEL = """
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
"""


def run() -> dict[str, Any]:
    if importlib.util.find_spec("echo_shared") is not None:
        return measure()
    paths = [str(REPO / "layers/shared"), str(REPO / "functions"), str(REPO)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.authz_bench"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def measure() -> dict[str, Any]:
    from echo_shared.authz import AuthzClient, AuthzRequest, EntityRef, Principal
    from echo_shared.authz.catalog import packaged_catalog
    from echo_shared.authz.engine import DecisionEngine, Evaluation
    from echo_shared.authz.model import Classification, DocumentMetadata
    from echo_shared.authz.store import ActivationKind, NewPolicyVersion
    from echo_shared.timeutil import utc_now

    from tests.fakes.authz import InMemoryEntityProvider, InMemoryPolicyStore

    rng = random.Random(SEED)
    catalog = packaged_catalog()
    engine = DecisionEngine(catalog)
    store = InMemoryPolicyStore()
    version = store.create(NewPolicyVersion(TENANT, TENANT_POLICIES, "sha256:-", (), "", utc_now(), "bench"))
    store.activate(
        TENANT, version.number, expected_revision=0, kind=ActivationKind.ACTIVATE, at=utc_now(), by="b"
    )

    users = [
        Principal.user(f"u{i}", TENANT, frozenset(rng.sample(ROLES, rng.randint(0, 2)))) for i in range(40)
    ]
    entities = InMemoryEntityProvider(
        DocumentMetadata(
            tenant=TENANT,
            document_id=f"doc-{i}",
            owner=rng.choice(users).id,
            shared_with_users=frozenset(u.id for u in rng.sample(users, rng.randint(0, 3))),
            shared_with_roles=frozenset(rng.sample(ROLES, rng.randint(0, 1))),
            classification=rng.choice(list(Classification)),
        )
        for i in range(500)
    )
    document_actions = sorted(a for a, spec in catalog.actions.items() if "Document" in spec.resource_types)
    tenant_actions = sorted(a for a, spec in catalog.actions.items() if "Tenant" in spec.resource_types)

    def question() -> AuthzRequest:
        principal = rng.choice(users)
        if rng.random() < 0.7:
            return AuthzRequest(
                principal, rng.choice(document_actions), EntityRef("Document", f"doc-{rng.randrange(500)}")
            )
        return AuthzRequest(
            principal, rng.choice(tenant_actions), EntityRef("Tenant", TENANT), {"mfa": rng.random() < 0.5}
        )

    bus = _DiscardingBus()
    client = AuthzClient(
        store=store, entities=entities, publisher=bus, asked_by="bench", engine=engine, refresh_seconds=3600
    )
    questions = [question() for _ in range(SINGLE_ITERATIONS)]
    for warm in questions[:200]:
        client.check(warm, request_id="warm-up")

    single_ms = [_timed(partial(client.check, q, request_id="bench")) for q in questions]
    raw = _RawCedar(client.policies.get(TENANT).policy_set, catalog.schema)
    raw_questions = [raw.question(q, entities) for q in questions]
    raw_ms = [_timed(partial(raw.check, request, json.loads(text))) for request, text in raw_questions]
    raw_json_ms = [_timed(partial(raw.check, *rq)) for rq in raw_questions]
    parsed = [(request, raw.parsed(text)) for request, text in raw_questions]
    raw_parsed_ms = [_timed(partial(raw.check, *pq)) for pq in parsed]

    compiled = client.policies.get(TENANT)
    evaluations = [
        Evaluation(
            q, entities.document(TENANT, q.resource.id) if q.resource.type == "Document" else q.resource
        )
        for q in questions
    ]
    engine_ms = [_timed(partial(engine.evaluate, compiled, [e])) for e in evaluations]

    batches = [[question() for _ in range(BATCH_SIZE)] for _ in range(BATCHES)]
    batch_ms = [_timed(partial(client.check_batch, b, request_id="bench")) for b in batches]
    raw_batches = [raw.batch([raw.question(q, entities) for q in b]) for b in batches]
    raw_batch_ms = [_timed(partial(raw.check_batch, *rb)) for rb in raw_batches]

    allowed = sum(1 for q in questions[:500] if client.check(q, request_id="bench").allowed)
    return {
        "setup": {
            "tenant_policies": len(compiled.names) - len(catalog.baseline_names),
            "baseline_policies": len(catalog.baseline_names),
            "documents": 500,
            "users": len(users),
            "allowed_share_of_questions": round(allowed / 500, 3),
            "audit_events_built": bus.count,
        },
        "in_process_check": _latency(single_ms, per_call=1),
        "raw_cedarpy_check": _latency(raw_ms, per_call=1),
        "raw_cedarpy_check_entities_as_json": _latency(raw_json_ms, per_call=1),
        "raw_cedarpy_parsed_entities": _latency(raw_parsed_ms, per_call=1),
        "engine_only": _latency(engine_ms, per_call=1),
        "batch": {**_latency(batch_ms, per_call=BATCH_SIZE), "batch_size": BATCH_SIZE},
        "raw_cedarpy_batch": {**_latency(raw_batch_ms, per_call=BATCH_SIZE), "batch_size": BATCH_SIZE},
        "ratio_check_to_raw_p50": round(
            _latency(single_ms, per_call=1)["p50_us"] / _latency(raw_ms, per_call=1)["p50_us"], 2
        ),
        "rbac_comparison": _rbac_comparison(rng, catalog),
        "list": _list_figures(rng, catalog, users),
        "function_check": _function_check(client, entities),
    }


def _rbac_comparison(rng: random.Random, catalog: Any) -> dict[str, Any]:
    import casbin
    from echo_shared.authz import AuthzClient, AuthzRequest, EntityRef, Principal

    from tests.fakes.authz import InMemoryEntityProvider, InMemoryPolicyStore

    model = casbin.Enforcer.new_model(text=CASBIN_MODEL)
    enforcer = casbin.Enforcer(model)
    for domain in (TENANT, OTHER):
        for role, actions in RBAC_GRANTS.items():
            for action in actions:
                enforcer.add_policy(role, domain, "tenant", action)
    people = []
    for i in range(40):
        roles = tuple(rng.sample(tuple(RBAC_GRANTS), rng.randint(0, 2)))
        tenant = TENANT if i % 5 else OTHER
        people.append((f"p{i}", tenant, roles))
        for role in roles:
            enforcer.add_grouping_policy(f"p{i}", role, tenant)
    asked_actions = sorted({a for grants in RBAC_GRANTS.values() for a in grants} | {"log:read"})
    cases = [
        (rng.choice(people), rng.choice(asked_actions), rng.choice((TENANT, TENANT, OTHER)))
        for _ in range(SINGLE_ITERATIONS)
    ]

    casbin_requests = [(name, domain, "tenant", action) for (name, _, _), action, domain in cases]
    # Echo: the baseline alone (no tenant version is active: the shared RBAC model only).
    client = AuthzClient(
        store=InMemoryPolicyStore(),
        entities=InMemoryEntityProvider(),
        publisher=_DiscardingBus(),
        asked_by="bench",
        catalog=catalog,
        refresh_seconds=3600,
    )
    echo_requests = [
        AuthzRequest(
            Principal.user(name, tenant, frozenset(roles)), action, EntityRef("Tenant", domain), {}, domain
        )
        for (name, tenant, roles), action, domain in cases
    ]
    casbin_answers = [enforcer.enforce(*r) for r in casbin_requests]
    echo_answers = [client.check(r, request_id="bench").allowed for r in echo_requests]
    casbin_ms = [_timed(partial(enforcer.enforce, *r)) for r in casbin_requests]
    echo_ms = [_timed(partial(client.check, r, request_id="bench")) for r in echo_requests]
    echo_chunks = [echo_requests[i : i + BATCH_SIZE] for i in range(0, len(echo_requests), BATCH_SIZE)]
    casbin_chunks = [casbin_requests[i : i + BATCH_SIZE] for i in range(0, len(casbin_requests), BATCH_SIZE)]
    echo_batch_ms = [_timed(partial(client.check_batch, c, request_id="bench")) for c in echo_chunks]
    casbin_batch_ms = [_timed(partial(enforcer.batch_enforce, [list(r) for r in c])) for c in casbin_chunks]
    # Cedar alone on the same chunks: the baseline set pre-parsed, one entity list per chunk built
    # beforehand, every question evaluated (no dedupe): what cedarpy's batch API costs by itself.
    raw = _RawCedar(client.policies.get(TENANT).policy_set, catalog.schema)
    raw_chunks = [raw.batch([_raw_rbac_question(r) for r in c]) for c in echo_chunks]
    raw_batch_ms = [_timed(partial(raw.check_batch, *rc)) for rc in raw_chunks]
    echo, casbin_figures = _latency(echo_ms, per_call=1), _latency(casbin_ms, per_call=1)
    echo_batch, casbin_batch = (
        _latency(echo_batch_ms, per_call=BATCH_SIZE),
        _latency(casbin_batch_ms, per_call=BATCH_SIZE),
    )
    raw_batch = _latency(raw_batch_ms, per_call=BATCH_SIZE)
    return {
        "questions": len(cases),
        "same_answers": sum(a == b for a, b in zip(echo_answers, casbin_answers, strict=True)),
        "allowed": sum(echo_answers),
        "echo": echo,
        "casbin": casbin_figures,
        "echo_batch_100": echo_batch,
        "casbin_batch_100": casbin_batch,
        "ratio_echo_to_casbin_p50": round(echo["p50_us"] / casbin_figures["p50_us"], 2),
        "ratio_echo_to_casbin_batch_throughput": round(
            echo_batch["decisions_per_s"] / casbin_batch["decisions_per_s"], 2
        ),
        "raw_cedarpy_batch_100": raw_batch,
        "ratio_raw_cedarpy_to_casbin_batch_throughput": round(
            raw_batch["decisions_per_s"] / casbin_batch["decisions_per_s"], 2
        ),
    }


def _raw_rbac_question(request: Any) -> tuple[dict[str, Any], str]:
    """One RBAC question as raw Cedar takes it: the request, and its entities as Cedar JSON."""
    principal, domain = request.principal, request.resource.id
    found = _principal_entities(principal)
    if domain != principal.tenant:
        found.append(_cedar_entity("Tenant", domain))
    cedar_request = {
        "principal": {"type": principal.type.value, "id": principal.id},
        "action": {"type": "Action", "id": request.action},
        "resource": {"type": "Tenant", "id": domain},
        "context": {"tenant": {"__entity": {"type": "Tenant", "id": domain}}},
    }
    return cedar_request, json.dumps(found)


def _list_figures(rng: random.Random, catalog: Any, users: Sequence[Any]) -> dict[str, Any]:
    """`list_resources` over LIST_DOCUMENTS candidates, and the same answer as single checks."""
    from echo_shared.authz import AuthzClient, AuthzRequest, ResourceType
    from echo_shared.authz.model import Classification, DocumentMetadata

    from tests.fakes.authz import InMemoryEntityProvider, InMemoryPolicyStore

    entities = InMemoryEntityProvider(
        DocumentMetadata(
            tenant=TENANT,
            document_id=f"doc-{i:05d}",
            owner=rng.choice(users).id,
            shared_with_users=frozenset(u.id for u in rng.sample(users, rng.randint(0, 3))),
            shared_with_roles=frozenset(rng.sample(ROLES, rng.randint(0, 1))),
            classification=rng.choice(list(Classification)),
        )
        for i in range(LIST_DOCUMENTS)
    )
    client = AuthzClient(
        store=InMemoryPolicyStore(),
        entities=entities,
        publisher=_DiscardingBus(),
        asked_by="bench",
        catalog=catalog,
        refresh_seconds=3600,
    )
    asker = next(u for u in users if "member" in u.roles)
    listed = client.list_resources(asker, "document:read", ResourceType.DOCUMENT, request_id="bench")
    list_ms = [
        _timed(partial(client.list_resources, asker, "document:read", ResourceType.DOCUMENT, request_id="b"))
        for _ in range(3)
    ]
    singles = [
        d.document_id
        for d in entities.documents(TENANT)
        if client.check(AuthzRequest(asker, "document:read", d.ref), request_id="bench").allowed
    ]
    return {
        "candidates": listed.evaluated,
        "allowed": len(listed.resource_ids),
        "equals_single_checks": sorted(listed.resource_ids) == sorted(singles),
        **summary_ms(list_ms),
    }


def _function_check(client: Any, entities: Any) -> dict[str, Any]:
    """The authz function's own handling of `POST /authz/check` (handler, FastAPI, Mangum, logic,
    audit record), invoked in process with its sample event; the client and entity provider are
    the in-memory ones above, so the time excludes DynamoDB/SNS round trips."""
    from echo_shared.authz import Classification, DocumentMetadata

    os.environ.update(
        {
            "ECHO_STAGE": "local",
            "POWERTOOLS_SERVICE_NAME": "authz-bench",
            "POWERTOOLS_METRICS_NAMESPACE": "EchoBench",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "LOG_LEVEL": "WARNING",
            "EVENT_TOPIC_ARN": "arn:aws:sns:eu-west-1:000000000000:bench",
            "AUTHZ_POLICY_TABLE": "bench-policies",
            "OUTBOX_TABLE": "bench-outbox",  # read at start-up; a check writes no outbox row
            "AUTHZ_DOCUMENTS_TABLE": "bench-documents",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    from authz import dependencies, handler

    event = json.loads((REPO / "events/authz.check.apigw.json").read_text())
    caller = event["requestContext"]["authorizer"]
    body = json.loads(event["body"])
    entities.add_document(
        DocumentMetadata(
            tenant=caller["tenant"],
            document_id=body["resource"]["id"],
            owner=caller["sub"],
            classification=Classification.INTERNAL,
        )
    )
    # The function's own dependencies, resolving its adapters to the in-memory ones through the
    # factories they call (dependency overrides would add per-request work production does not do).
    saved = dependencies._client, dependencies._entities
    dependencies._client, dependencies._entities = (lambda: client), (lambda: entities)
    try:
        return _invoke(handler.lambda_handler, event)
    finally:
        dependencies._client, dependencies._entities = saved


def _invoke(lambda_handler: Callable[[Any, Any], dict[str, Any]], event: dict[str, Any]) -> dict[str, Any]:
    context = _LambdaContext()
    status = lambda_handler(event, context)["statusCode"]
    for _ in range(50):
        lambda_handler(event, context)
    samples = [_timed(partial(lambda_handler, event, context)) for _ in range(SINGLE_ITERATIONS // 4)]
    return {"status": status, **_latency(samples, per_call=1)}


class _LambdaContext:
    function_name = "authz"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:authz"
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/authz"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class _RawCedar:
    """cedarpy alone: the same policy set and schema handles, entities as Cedar JSON built beforehand."""

    def __init__(self, policy_set: Any, schema: Any) -> None:
        self.policy_set = policy_set
        self.schema = schema

    def question(self, request: Any, entities: Any) -> tuple[dict[str, Any], str]:
        principal = request.principal
        resource = (
            entities.document(TENANT, request.resource.id) if request.resource.type == "Document" else None
        )
        found = _principal_entities(principal)
        if resource is not None:
            found.append(_document_entity(resource))
        elif request.resource.id != principal.tenant:
            found.append(_cedar_entity("Tenant", request.resource.id))
        cedar_request = {
            "principal": {"type": principal.type.value, "id": principal.id},
            "action": {"type": "Action", "id": request.action},
            "resource": {"type": request.resource.type, "id": request.resource.id},
            "context": {**request.context, "tenant": {"__entity": {"type": "Tenant", "id": TENANT}}},
        }
        return cedar_request, json.dumps(found)

    def parsed(self, entities_json: str) -> Any:
        import cedarpy

        return cedarpy.Entities.from_json_str(entities_json, self.schema)

    def batch(
        self, questions: Sequence[tuple[dict[str, Any], str]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        merged: dict[tuple[str, str], Any] = {}
        for _, text in questions:
            for entity in json.loads(text):
                merged[(entity["uid"]["type"], entity["uid"]["id"])] = entity
        return [request for request, _ in questions], list(merged.values())

    def check(self, request: dict[str, Any], entities: str | list[dict[str, Any]]) -> Any:
        import cedarpy

        return cedarpy.is_authorized(request, self.policy_set, entities, schema=self.schema)

    def check_batch(self, requests: list[dict[str, Any]], entities: list[dict[str, Any]]) -> Any:
        import cedarpy

        return cedarpy.is_authorized_batch(requests, self.policy_set, entities, schema=self.schema)


def _cedar_entity(
    type_: str, id_: str, attrs: dict[str, Any] | None = None, parents: Any = ()
) -> dict[str, Any]:
    return {"uid": {"type": type_, "id": id_}, "attrs": attrs or {}, "parents": list(parents)}


def _principal_entities(principal: Any) -> list[dict[str, Any]]:
    tenant = {"__entity": {"type": "Tenant", "id": principal.tenant}}
    roles = [{"type": "Role", "id": r} for r in sorted(principal.roles)]
    found = [_cedar_entity("Tenant", principal.tenant)] + [_cedar_entity("Role", r["id"]) for r in roles]
    if principal.type.value == "User":
        found.append(_cedar_entity("User", principal.id, {"tenant": tenant}, roles))
    else:
        found.append(
            _cedar_entity("Client", principal.id, {"tenant": tenant, "scopes": sorted(principal.scopes)})
        )
    return found


def _document_entity(document: Any) -> dict[str, Any]:
    return _cedar_entity(
        "Document",
        document.document_id,
        {
            "tenant": {"__entity": {"type": "Tenant", "id": document.tenant}},
            "owner": {"__entity": {"type": "User", "id": document.owner}},
            "shared_with_users": [
                {"__entity": {"type": "User", "id": u}} for u in sorted(document.shared_with_users)
            ],
            "shared_with_roles": [
                {"__entity": {"type": "Role", "id": r}} for r in sorted(document.shared_with_roles)
            ],
            "classification": document.classification.value,
        },
    )


class _DiscardingBus:
    """Takes events like the SNS adapter would (after they are built and validated), keeps none."""

    def __init__(self) -> None:
        self.count = 0

    def publish(self, event: Any) -> None:
        self.count += 1

    def publish_batch(self, events: Sequence[Any]) -> None:
        self.count += len(events)


def _timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def _latency(samples_ms: list[float], *, per_call: int) -> dict[str, float]:
    ordered = sorted(samples_ms)
    total_s = sum(ordered) / 1000
    return {
        "n": len(ordered),
        "p50_us": round(statistics.median(ordered) * 1000, 1),
        "p99_us": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "decisions_per_s": round(len(ordered) * per_call / total_s) if total_s else 0,
    }


def summary_ms(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "max_ms": round(ordered[-1], 2),
    }


def render(figures: dict[str, Any]) -> list[str]:
    """The authz table: each figure beside its baseline from the same run, and the goal."""
    rbac, listing, function = figures["rbac_comparison"], figures["list"], figures["function_check"]
    check, raw = figures["in_process_check"], figures["raw_cedarpy_check"]
    batch, raw_batch = figures["batch"], figures["raw_cedarpy_batch"]
    check_ratio = round(check["p50_us"] / raw["p50_us"], 2)
    batch_ratio = rbac["ratio_echo_to_casbin_batch_throughput"]
    rows = [
        (
            "in-process `check`, p50",
            f"{check['p50_us']} µs",
            f"raw cedarpy {raw['p50_us']} µs",
            f"{check_ratio}x",
            f"≤ {GOAL_CHECK_TO_RAW}x",
            check_ratio <= GOAL_CHECK_TO_RAW,
        ),
        (
            "`check_batch` of 100, throughput",
            f"{batch['decisions_per_s']:,}/s",
            f"raw cedarpy batch {raw_batch['decisions_per_s']:,}/s",
            f"{round(batch['decisions_per_s'] / raw_batch['decisions_per_s'], 2)}x",
            "-",
            None,
        ),
        (
            "RBAC `check`, p50",
            f"{rbac['echo']['p50_us']} µs",
            f"pycasbin {rbac['casbin']['p50_us']} µs",
            f"{rbac['ratio_echo_to_casbin_p50']}x",
            "-",
            None,
        ),
        (
            "RBAC `check_batch` of 100, throughput",
            f"{rbac['echo_batch_100']['decisions_per_s']:,}/s",
            f"pycasbin {rbac['casbin_batch_100']['decisions_per_s']:,}/s",
            f"{batch_ratio}x",
            f"≥ {GOAL_BATCH_TO_CASBIN}x",
            batch_ratio >= GOAL_BATCH_TO_CASBIN,
        ),
        (
            "raw cedarpy `is_authorized_batch` of 100 on the RBAC questions, throughput",
            f"{rbac['raw_cedarpy_batch_100']['decisions_per_s']:,}/s",
            f"pycasbin {rbac['casbin_batch_100']['decisions_per_s']:,}/s",
            f"{rbac['ratio_raw_cedarpy_to_casbin_batch_throughput']}x",
            "-",
            None,
        ),
        (
            "authz function, `POST /authz/check` handling, p50 (in process)",
            f"{function['p50_us'] / 1000:.2f} ms",
            f"HTTP {function['status']}",
            "-",
            f"≤ {GOAL_FUNCTION_CHECK_MS} ms",
            function["p50_us"] / 1000 <= GOAL_FUNCTION_CHECK_MS,
        ),
        (
            f"`list` over {listing['candidates']:,} documents, p50",
            f"{listing['p50_ms']} ms",
            f"equals single checks: {listing['equals_single_checks']}",
            "-",
            "bounded, = checks",
            listing["equals_single_checks"],
        ),
    ]
    lines = [
        "## authz (in process)",
        "",
        "| measure | Echo | baseline (same run) | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for name, value, baseline, ratio, goal, met in rows:
        mark = "-" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {name} | {value} | {baseline} | {ratio} | {goal} | {mark} |")
    lines.append("")
    lines.append(
        f"Same answers as pycasbin on {rbac['same_answers']:,} of {rbac['questions']:,} RBAC questions; "
        "Raw cedarpy with the entity list already serialized to JSON: "
        f"{figures['raw_cedarpy_check_entities_as_json']['p50_us']} µs; "
        f"Cedar's floor with entities pre-parsed per question: {figures['raw_cedarpy_parsed_entities']['p50_us']} µs."
    )
    return lines


if __name__ == "__main__":
    sys.stdout.write(json.dumps(measure()) + "\n")
