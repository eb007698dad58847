"""Authorization benchmark: in-process Cedar decisions, batches, and the same RBAC model in pycasbin.

`run()` returns the figures (it prints nothing). The measurement needs `echo_shared` importable, as
it is inside a Lambda (the shared layer); when the bench runner's interpreter does not have it on
its path, `run()` measures in a child interpreter whose path holds the layer, like the runtime's.

Figures (one run, a few seconds):
- `in_process_check`: `AuthzClient.check` with policies pre-parsed and the audit event built and
  handed to an in-memory bus (what a function pays per decision, minus the network publish);
- `engine_only`: one Cedar evaluation, no audit (the pure policy cost);
- `batch`: `check_batch` of 100 questions;
- `rbac_comparison`: one RBAC question set (roles -> actions on a tenant, tenant domains) answered
  by Echo's Cedar engine and by pycasbin's RBAC-with-domains model, both pre-loaded, same answers.
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
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "layers/shared"), str(REPO)])}
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.authz_bench"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def measure() -> dict[str, Any]:
    from echo_shared.authz import AuthzClient, AuthzRequest, EntityRef, Principal
    from echo_shared.authz.catalog import packaged_catalog
    from echo_shared.authz.engine import DecisionEngine, Evaluation
    from echo_shared.authz.entities import InMemoryEntityProvider
    from echo_shared.authz.model import Classification, DocumentMetadata
    from echo_shared.authz.store import ActivationKind, InMemoryPolicyStore, NewPolicyVersion
    from echo_shared.timeutil import utc_now

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
        "engine_only": _latency(engine_ms, per_call=1),
        "batch": {**_latency(batch_ms, per_call=BATCH_SIZE), "batch_size": BATCH_SIZE},
        "rbac_comparison": _rbac_comparison(rng, engine),
    }


def _rbac_comparison(rng: random.Random, engine: Any) -> dict[str, Any]:
    import casbin
    from echo_shared.authz import AuthzRequest, EntityRef, Principal
    from echo_shared.authz.engine import Evaluation

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
    # Cedar: the baseline alone (the tenant's extra grants are not part of the shared RBAC model).
    baseline = engine.compile(TENANT, 0, "")
    cedar_evaluations = [
        Evaluation(
            AuthzRequest(
                Principal.user(name, tenant, frozenset(roles)),
                action,
                EntityRef("Tenant", domain),
                {},
                domain,
            ),
            EntityRef("Tenant", domain),
        )
        for (name, tenant, roles), action, domain in cases
    ]
    casbin_answers = [enforcer.enforce(*r) for r in casbin_requests]
    cedar_answers = [o.effect.value == "allow" for o in engine.evaluate(baseline, cedar_evaluations)]
    casbin_ms = [_timed(partial(enforcer.enforce, *r)) for r in casbin_requests]
    cedar_ms = [_timed(partial(engine.evaluate, baseline, [e])) for e in cedar_evaluations]
    batch_chunks = [
        cedar_evaluations[i : i + BATCH_SIZE] for i in range(0, len(cedar_evaluations), BATCH_SIZE)
    ]
    casbin_chunks = [casbin_requests[i : i + BATCH_SIZE] for i in range(0, len(casbin_requests), BATCH_SIZE)]
    cedar_batch_ms = [_timed(partial(engine.evaluate, baseline, c)) for c in batch_chunks]
    casbin_batch_ms = [_timed(partial(enforcer.batch_enforce, [list(r) for r in c])) for c in casbin_chunks]
    cedar, casbin_figures = _latency(cedar_ms, per_call=1), _latency(casbin_ms, per_call=1)
    cedar_batch, casbin_batch = (
        _latency(cedar_batch_ms, per_call=BATCH_SIZE),
        _latency(casbin_batch_ms, per_call=BATCH_SIZE),
    )
    return {
        "questions": len(cases),
        "same_answers": sum(a == b for a, b in zip(cedar_answers, casbin_answers, strict=True)),
        "allowed": sum(cedar_answers),
        "cedar": cedar,
        "casbin": casbin_figures,
        "cedar_batch_100": cedar_batch,
        "casbin_batch_100": casbin_batch,
        "ratio_cedar_to_casbin_p50": round(cedar["p50_us"] / casbin_figures["p50_us"], 2),
        "ratio_cedar_to_casbin_batch_throughput": round(
            cedar_batch["decisions_per_s"] / casbin_batch["decisions_per_s"], 2
        ),
    }


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


if __name__ == "__main__":
    sys.stdout.write(json.dumps(measure()) + "\n")
