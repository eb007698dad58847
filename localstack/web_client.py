"""Register the web app as a confidential OIDC client of every seeded tenant (idempotent).

    PYTHONPATH=layers/shared python localstack/web_client.py --endpoint-url http://127.0.0.1:4566 \\
        --identity-table echo-local-identity --secret-arn <WebClientSecretArn> --web-url <web_url> \\
        --tenant demo --tenant other

The secret is read from Secrets Manager (generated there by the stack); only its keyed hash is
registered, as an HMAC under the stack's client-secret key (echo_shared.identity.client_secrets). Prints `{tenant: client_id}`. Sandbox stages only (like the demo seeding).
"""

import argparse
import json
import os
import sys

import boto3
from echo_shared.identity.client_secrets import (
    ClientSecretHasher,
    client_secret_key_name,
    key_from_secrets_manager,
)
from echo_shared.identity.clients import AuthMethod, ClientType, GrantType, OAuthClient
from echo_shared.identity.dynamodb import DynamoClientRepository

CLIENT_ID_PREFIX = "echo-web"  # stacks/web.py CLIENT_ID_PREFIX
SCOPES = frozenset(
    [
        "openid",
        "email",
        "offline_access",
        "audit:read",
        "audit:verify",
        "logs:read",
        "documents:read",
        "documents:write",
        "users:admin",
        "authz:admin",
    ]
)  # stacks/web.py SCOPE


def register(
    *,
    identity_table: str,
    secret: str,
    web_url: str,
    tenants: list[str],
    stage: str = "local",
    client_secret_key: bytes | None = None,
) -> dict[str, str]:
    clients = DynamoClientRepository(identity_table)
    client_secrets = ClientSecretHasher(
        client_secret_key or key_from_secrets_manager(client_secret_key_name(stage))
    )
    registered: dict[str, str] = {}
    for tenant in tenants:
        client_id = f"{CLIENT_ID_PREFIX}-{tenant}"
        # Always (re)stored as the current keyed hash: this also migrates argon2-era registrations.
        secret_hash = client_secrets.hash(secret)
        clients.put(
            OAuthClient(
                client_id=client_id,
                tenant=tenant,
                name="Echo web app",
                client_type=ClientType.CONFIDENTIAL,
                auth_method=AuthMethod.SECRET_BASIC,
                grant_types=frozenset({GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN}),
                allowed_scopes=SCOPES,
                redirect_uris=(f"{web_url}callback",),
                post_logout_redirect_uris=(f"{web_url}signed-out",),
                secret_hash=secret_hash,
                first_party=True,  # Echo's own web app: its users are not asked to consent
            )
        )
        registered[tenant] = client_id
    return registered


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--identity-table", required=True)
    parser.add_argument("--secret-arn", required=True)
    parser.add_argument("--web-url", required=True)
    parser.add_argument("--tenant", action="append", required=True)
    parser.add_argument("--stage", default="local", help="names the client-secret key secret")
    args = parser.parse_args(argv)
    os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    os.environ["AWS_DEFAULT_REGION"] = args.region
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    secrets = boto3.client("secretsmanager", endpoint_url=args.endpoint_url, region_name=args.region)
    secret = secrets.get_secret_value(SecretId=args.secret_arn)["SecretString"]
    web_url = args.web_url if args.web_url.endswith("/") else args.web_url + "/"
    json.dump(
        register(
            identity_table=args.identity_table,
            secret=secret,
            web_url=web_url,
            tenants=args.tenant,
            stage=args.stage,
        ),
        sys.stdout,
    )


if __name__ == "__main__":
    main()
