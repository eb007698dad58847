"""Idempotent identity seeding for `make up`: two tenants' users and clients, and a signing key.

    PYTHONPATH=layers/shared python localstack/identity_seed.py --endpoint-url http://127.0.0.1:4566 \\
        --region us-east-1 --stage local --identity-table echo-local-identity \\
        --signing-keys-table echo-local-signing-keys --issuer <issuer> [--previous .echo/stack.json]

prints `{"demo": {...}, "other_tenant": {...}}`, the objects to store under those keys in
.echo/stack.json. Both have the same shape (tenant, issuer, users.admin, users.member,
public_client, confidential_client, third_party_client); the second tenant exists so that tests can prove isolation.
Re-running keeps every password and secret that `--previous` still proves; anything it cannot
prove is regenerated, since only hashes are stored. Runs only in sandbox stages. This is local
tooling: it lives outside the Lambda layers so that no production bundle carries demo data.
"""

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from echo_shared.identity.claims import Role
from echo_shared.identity.client_secrets import (
    ClientSecretHasher,
    client_secret_key_name,
    generate_client_secret,
    key_from_secrets_manager,
)
from echo_shared.identity.clients import AuthMethod, ClientType, GrantType, OAuthClient
from echo_shared.identity.dynamodb import (
    DynamoClientRepository,
    DynamoSigningKeyRepository,
    DynamoUserRepository,
)
from echo_shared.identity.errors import EmailTaken
from echo_shared.identity.kms import KmsKeyVault
from echo_shared.identity.passwords import PasswordHasher, generate_secret
from echo_shared.identity.rotation import KeyRotator, RotationPolicy
from echo_shared.identity.users import User, UserRepository
from echo_shared.settings import Stage
from echo_shared.timeutil import Clock, utc_now

if TYPE_CHECKING:
    from types_boto3_kms.client import KMSClient

DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEMO_POST_LOGOUT_URI = "http://127.0.0.1:8765/"
# The demo web app is a first-party admin tool: it may ask for the admin scopes, and does so
# explicitly; an admin signed in with only `documents:read` cannot administer anything.
PUBLIC_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "audit:read",
        "documents:read",
        "documents:write",
        "users:admin",
        "authz:admin",
        "logs:read",
    }
)
SERVICE_SCOPES = frozenset({"audit:read", "logs:read", "documents:read"})
# A third-party app (not first-party): its users are asked to consent, and it gets no admin scope.
THIRD_PARTY_SCOPES = frozenset({"openid", "profile", "email", "offline_access", "documents:read"})
DAY = 24 * 3600


@dataclass(frozen=True, slots=True)
class TenantSeed:
    """One seeded tenant: the key it has in stack.json and the names of its users and clients."""

    key: str
    tenant: str
    public_client_id: str
    confidential_client_id: str
    third_party_client_id: str

    def users(self) -> dict[str, tuple[str, str, Role]]:
        return {
            "admin": (f"usr_{self.tenant}_admin", f"admin@{self.tenant}.echo.test", Role.ADMIN),
            "member": (f"usr_{self.tenant}_member", f"member@{self.tenant}.echo.test", Role.MEMBER),
        }


DEMO = TenantSeed("demo", "demo", "echo-demo-web", "echo-demo-service", "echo-demo-partner")
OTHER = TenantSeed("other_tenant", "other", "echo-other-web", "echo-other-service", "echo-other-partner")
TENANTS = (DEMO, OTHER)


def seed_identity(
    *,
    identity_table: str,
    signing_keys_table: str,
    stage: str,
    kms_client: "KMSClient | None" = None,
    previous: Mapping[str, Any] | None = None,
    issuer: str | None = None,
    clock: Clock = utc_now,
    max_jwt_lifetime_seconds: int = 960,
    client_secret_key: bytes | None = None,
) -> dict[str, dict[str, Any]]:
    """Seed every tenant of TENANTS and the first signing key; returns stack.json's entries by key."""
    if not Stage(stage).is_sandbox:
        raise ValueError("demo seeding is for the local and dev stages only")
    previous = previous or {}
    hasher = PasswordHasher()
    # Client secrets are stored under the stack's HMAC key (found by name, like the token service's).
    client_secrets = ClientSecretHasher(
        client_secret_key or key_from_secrets_manager(client_secret_key_name(stage))
    )
    users = DynamoUserRepository(identity_table)
    clients = DynamoClientRepository(identity_table)
    now = int(clock().timestamp())
    seeded = {
        spec.key: _seed_tenant(
            spec, users, clients, hasher, client_secrets, previous.get(spec.key) or {}, now
        )
        for spec in TENANTS
    }
    KeyRotator(
        DynamoSigningKeyRepository(signing_keys_table),
        KmsKeyVault(stage=stage, deletion_window_days=7, client=kms_client),
        clock,
        RotationPolicy(
            rotation_period_seconds=30 * DAY,
            publish_ahead_seconds=DAY,
            max_jwt_lifetime_seconds=max_jwt_lifetime_seconds,
        ),
    ).ensure_current()
    if issuer is not None:
        for entry in seeded.values():
            entry["issuer"] = issuer.rstrip("/")
    return seeded


def _seed_tenant(
    spec: TenantSeed,
    users: UserRepository,
    clients: DynamoClientRepository,
    hasher: PasswordHasher,
    client_secrets: ClientSecretHasher,
    previous: Mapping[str, Any],
    now: int,
) -> dict[str, Any]:
    seeded_users = {
        name: _ensure_user(
            users,
            hasher,
            spec.tenant,
            user_id,
            email,
            role,
            _previous_secret(previous, "users", name, "password"),
            now,
        )
        for name, (user_id, email, role) in spec.users().items()
    }
    clients.put(
        OAuthClient(
            client_id=spec.public_client_id,
            tenant=spec.tenant,
            name=f"Echo {spec.tenant} web app",
            client_type=ClientType.PUBLIC,
            auth_method=AuthMethod.NONE,
            grant_types=frozenset({GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN}),
            allowed_scopes=PUBLIC_SCOPES,
            redirect_uris=(DEMO_REDIRECT_URI,),
            post_logout_redirect_uris=(DEMO_POST_LOGOUT_URI,),
            allow_registration=True,
            first_party=True,
        )
    )
    clients.put(
        OAuthClient(
            client_id=spec.third_party_client_id,
            tenant=spec.tenant,
            name=f"Partner app ({spec.tenant})",
            client_type=ClientType.PUBLIC,
            auth_method=AuthMethod.NONE,
            grant_types=frozenset({GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN}),
            allowed_scopes=THIRD_PARTY_SCOPES,
            redirect_uris=(DEMO_REDIRECT_URI,),
            post_logout_redirect_uris=(DEMO_POST_LOGOUT_URI,),
        )
    )
    secret = _previous_secret(previous, "confidential_client", "client_secret")
    existing = clients.get(spec.confidential_client_id)
    if secret is None or existing is None or not still_proves(secret, existing.secret_hash, client_secrets):
        secret = generate_client_secret()
    secret_hash = client_secrets.hash(secret)
    clients.put(
        OAuthClient(
            client_id=spec.confidential_client_id,
            tenant=spec.tenant,
            name=f"Echo {spec.tenant} service",
            client_type=ClientType.CONFIDENTIAL,
            auth_method=AuthMethod.SECRET_BASIC,
            grant_types=frozenset({GrantType.CLIENT_CREDENTIALS}),
            allowed_scopes=SERVICE_SCOPES,
            secret_hash=secret_hash,
            roles=(Role.AUDITOR.value,),
            first_party=True,
        )
    )
    return {
        "tenant": spec.tenant,
        "users": seeded_users,
        "public_client": {
            "client_id": spec.public_client_id,
            "token_endpoint_auth_method": AuthMethod.NONE.value,
            "redirect_uri": DEMO_REDIRECT_URI,
            "post_logout_redirect_uri": DEMO_POST_LOGOUT_URI,
            "scope": " ".join(sorted(PUBLIC_SCOPES)),
        },
        "confidential_client": {
            "client_id": spec.confidential_client_id,
            "client_secret": secret,
            "token_endpoint_auth_method": AuthMethod.SECRET_BASIC.value,
            "scope": " ".join(sorted(SERVICE_SCOPES)),
        },
        "third_party_client": {
            "client_id": spec.third_party_client_id,
            "token_endpoint_auth_method": AuthMethod.NONE.value,
            "redirect_uri": DEMO_REDIRECT_URI,
            "scope": " ".join(sorted(THIRD_PARTY_SCOPES)),
        },
    }


def still_proves(secret: str, stored: str | None, client_secrets: ClientSecretHasher) -> bool:
    """Whether `secret` matches `stored`, which may be a legacy argon2 hash (then migrated to HMAC)."""
    if client_secrets.verify(secret, stored):
        return True
    return stored is not None and stored.startswith("$argon2") and PasswordHasher().verify(secret, stored)[0]


def _previous_secret(previous: Mapping[str, Any], *path: str) -> str | None:
    node: Any = previous
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node if isinstance(node, str) and node else None


def _ensure_user(
    users: UserRepository,
    hasher: PasswordHasher,
    tenant: str,
    user_id: str,
    email: str,
    role: Role,
    known_password: str | None,
    now: int,
) -> dict[str, Any]:
    existing = users.get(tenant, user_id)
    if (
        existing is not None
        and known_password is not None
        and hasher.verify(known_password, existing.password_hash)[0]
    ):
        password = known_password
    else:
        password = generate_secret(18)
        if existing is not None:
            users.update_password_hash(tenant, user_id, hasher.hash(password), now=now)
        else:
            try:
                users.create(
                    User(
                        tenant,
                        user_id,
                        email,
                        hasher.hash(password),
                        (role,),
                        created_at=now,
                        updated_at=now,
                        email_verified=True,  # seeded demo accounts: no mail to click
                    )
                )
            except EmailTaken:
                raise RuntimeError(f"{email} belongs to another user in tenant {tenant!r}") from None
    return {"user_id": user_id, "email": email, "password": password, "roles": [role.value]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Seed Echo's demo tenants (idempotent).")
    parser.add_argument("--endpoint-url", default=None, help="e.g. http://127.0.0.1:4566 for LocalStack")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--stage", default="local")
    parser.add_argument("--identity-table", required=True)
    parser.add_argument("--signing-keys-table", required=True)
    parser.add_argument("--issuer", default=None)
    parser.add_argument("--previous", type=Path, default=None, help="a stack.json whose tenants may be kept")
    args = parser.parse_args(argv)
    # PynamoDB and boto3 both honour these; LocalStack accepts any credentials.
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ["AWS_DEFAULT_REGION"] = args.region
    previous: dict[str, Any] = {}
    if args.previous is not None and args.previous.exists():
        previous = json.loads(args.previous.read_text())
    seeded = seed_identity(
        identity_table=args.identity_table,
        signing_keys_table=args.signing_keys_table,
        stage=args.stage,
        kms_client=boto3.client("kms", region_name=args.region, endpoint_url=args.endpoint_url),
        previous=previous,
        issuer=args.issuer,
    )
    json.dump(seeded, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
