"""Hosted login: the OIDC authorization endpoint, sign-in, registration and sign-out pages."""
