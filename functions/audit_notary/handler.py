"""Invoked synchronously by the audit ingest with {"tenants": [...]}; answers per tenant what was
signed, what failed and what did not verify (seqs and problem kinds only, never record contents)."""

from typing import TYPE_CHECKING, Any

from echo_shared.observability import count, lambda_entrypoint

from audit_notary.dependencies import get_service, get_settings
from audit_notary.logic import notarize, requested_tenants

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entrypoint(settings=get_settings)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    reply = notarize(requested_tenants(event), get_service())
    count("AuditNotarySigned", sum("signed" in item for item in reply["outcomes"]))
    return reply
