"""Audit API: query the audit trail and the central log, and verify a tenant's chain."""
