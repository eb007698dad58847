"""Property: whatever the order, duplication and interleaving of deliveries, every event ends up in
its tenant's chain exactly once and the chain verifies against its checkpoints."""

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from echo_shared.audit import (
    AuditAppender,
    ChainVerifier,
    write_checkpoint,
)
from echo_shared.events import EventEnvelope, new_event
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.audit import InMemoryAuditChainRepository, InMemoryCheckpointSigner, InMemoryCheckpointStore
from tests.unit.chain_doubles import InterleavingChain

TENANTS = ("acme", "globex", "initech")


def _event(index: int, tenant: str) -> EventEnvelope:
    return new_event(
        event_id=uuid.UUID(int=index + 1),
        type="document.uploaded",
        tenant=tenant,
        actor=f"user-{index % 3}",
        action="upload",
        resource=f"document:{index}",
        outcome="success",
        request_id=f"req-{index}",
        occurred_at=datetime(2026, 1, 5, tzinfo=UTC) + timedelta(seconds=index),
        data={"n": index, "ratio": index / 7},
    )


deliveries = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=11),  # which event (so repeats are redeliveries)
        st.booleans(),  # does a rival consumer deliver a pending event between our read and write?
        st.booleans(),  # does this delivery close a batch (checkpoint the touched tenants)?
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(deliveries=deliveries)
def test_any_delivery_history_yields_each_event_once_and_a_verifying_chain(
    deliveries: list[tuple[int, bool, bool]],
) -> None:
    # Given twelve events over three tenants, a rival consumer, and checkpoints at batch ends
    events = [_event(i, TENANTS[i % len(TENANTS)]) for i in range(12)]
    repo, store, signer = (
        InMemoryAuditChainRepository(),
        InMemoryCheckpointStore(),
        InMemoryCheckpointSigner(),
    )
    rival_queue: list[EventEnvelope] = []
    rival = AuditAppender(repo, sleep=lambda _: None)

    def rival_turn() -> None:
        if rival_queue:
            rival.append(rival_queue.pop(0))

    ours = AuditAppender(InterleavingChain(repo, between=rival_turn), sleep=lambda _: None)
    touched: set[str] = set()

    # When each delivery is appended (sometimes racing the rival, which redelivers the same events)
    for index, rival_races, batch_ends in deliveries:
        event = events[index]
        if rival_races:
            rival_queue.append(event)
        ours.append(event)
        touched.add(event.tenant)
        if batch_ends:
            for tenant in touched:
                write_checkpoint(tenant, chain=repo, signer=signer, store=store)
            touched.clear()

    # Then every delivered event is chained exactly once, and every tenant's chain verifies
    delivered = {str(events[index].event_id) for index, _, _ in deliveries}
    chained = Counter(record.event_id for tenant in TENANTS for record in repo.stored(tenant))
    assert set(chained) == delivered
    assert set(chained.values()) == {1}
    assert repo.guarded_event_ids() == delivered
    verifier = ChainVerifier(repo, store, signer)
    for tenant in TENANTS:
        result = verifier.verify(tenant)
        assert result.ok, result
        assert result.checked == len(repo.stored(tenant))
