"""Users API (behind the authorizer): the caller's profile; for admins, list, disable, delete and
lockout state."""
