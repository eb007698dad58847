"""Authz API: Cedar decisions (check, batch, list) and tenant policy administration."""
