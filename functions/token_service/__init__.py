"""Token service: the OpenID Provider's back channel (/token, /jwks.json, discovery, /userinfo,
/revoke, /introspect)."""
