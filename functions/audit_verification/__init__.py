"""Audit verification job: verifies a tenant's whole chain in bounded pages, continuing across
invocations through its own queue; progress and result in AUDIT_VERIFICATIONS_TABLE. It reads the
chain and the checkpoints, never writes them."""
