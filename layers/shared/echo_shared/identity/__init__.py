"""Identity primitives shared by the login, token, authorizer, users and key-rotation functions.

Modules are imported directly (no re-exports here) so that the authorizer loads only what it uses:
claims, keys, verification and the DynamoDB adapters it needs.
"""
