"""Notary logic: validate the request, verify and sign each tenant's head (echo_shared Notary)."""

from collections.abc import Sequence
from typing import Any

from echo_shared.audit import INTEGRITY_CHAIN, CheckpointService
from echo_shared.audit.notary import outcomes_to_json
from echo_shared.events import is_valid_tenant

# One ingest batch touches at most this many tenants (INGEST_BATCH_SIZE events, 2,500).
MAX_TENANTS = 2_500


class InvalidNotaryRequest(ValueError):
    """The invocation payload is not {"tenants": [<tenant id>, ...]}."""


def requested_tenants(event: Any) -> list[str]:
    tenants = event.get("tenants") if isinstance(event, dict) else None
    if not isinstance(tenants, list) or not 0 < len(tenants) <= MAX_TENANTS:
        raise InvalidNotaryRequest(f"expected 1..{MAX_TENANTS} tenants")
    for tenant in tenants:
        if not isinstance(tenant, str) or not (tenant == INTEGRITY_CHAIN or is_valid_tenant(tenant)):
            raise InvalidNotaryRequest("not a tenant id")
    return list(dict.fromkeys(tenants))


def notarize(tenants: Sequence[str], service: CheckpointService) -> dict[str, Any]:
    return outcomes_to_json(tenants, service.checkpoint(tenants))
