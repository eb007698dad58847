"""Helpers for the document e2e tests: signed-in users, uploads through the presigned POST, waiting."""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from echo_shared.identity.claims import Role
from echo_shared.identity.dynamodb import DynamoUserRepository
from echo_shared.identity.passwords import PasswordHasher, generate_secret
from echo_shared.identity.users import User
from fpdf import FPDF

from tests.e2e.oidc import RelyingParty

DOCUMENT_SCOPES = "openid email documents:read documents:write"
TERMINAL = {"ready", "failed"}


@dataclass
class DocumentsClient:
    """One signed-in user calling the documents and query APIs through the gateway."""

    user_id: str
    tenant: str
    http: httpx.Client

    def create(self, filename: str, **body: Any) -> httpx.Response:
        return self.http.post("documents", json={"filename": filename, **body})

    def upload(self, filename: str, data: bytes, content_type: str | None = None, **body: Any) -> str:
        """POST /documents, then the file straight to S3 with the returned form; the document id."""
        created = self.create(filename, **({"content_type": content_type} if content_type else {}), **body)
        assert created.status_code == 201, created.text
        form = created.json()["upload"]
        posted = httpx.post(
            form["url"],
            data=form["fields"],
            files={"file": (filename, io.BytesIO(data), form["fields"]["Content-Type"])},
            timeout=60,
        )
        assert posted.status_code in (200, 201, 204), posted.text
        return str(created.json()["document_id"])

    def document(self, document_id: str) -> httpx.Response:
        return self.http.get(f"documents/{document_id}")

    def wait_terminal(self, document_id: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.document(document_id)
            if response.status_code == 200 and response.json()["status"] in TERMINAL:
                return dict(response.json())
            if time.monotonic() > deadline:
                raise AssertionError(f"document {document_id} not terminal after {timeout}s: {response.text}")
            time.sleep(0.5)

    def ask(self, question: str, **body: Any) -> dict[str, Any]:
        response = self.http.post("query", json={"question": question, **body})
        assert response.status_code == 200, response.text
        return dict(response.json())


def new_user(stack: dict[str, Any], tenant: str, role: Role = Role.MEMBER) -> tuple[str, str, str]:
    """A user written straight into the identity table: (user id, email, password)."""
    now = int(time.time())
    password = generate_secret(18)
    user_id = f"usr_e2e_{uuid.uuid4().hex[:10]}"
    email = f"docs-{uuid.uuid4().hex[:8]}@{tenant}.echo.test"
    DynamoUserRepository(stack["tables"]["identity"]).create(
        User(tenant, user_id, email, PasswordHasher().hash(password), (role,), created_at=now, updated_at=now)
    )
    return user_id, email, password


def signed_in(
    stack: dict[str, Any], user_id: str, tenant: str, email: str, password: str, *, seeded: str = "demo"
) -> DocumentsClient:
    """Sign in through the hosted login with the public client of the seeded tenant (demo|other_tenant)."""
    party = RelyingParty({**stack, "demo": stack[seeded]})
    party.oauth.scope = DOCUMENT_SCOPES
    tokens = party.tokens_for(email, password)
    assert set(DOCUMENT_SCOPES.split()) <= set(tokens["scope"].split()), tokens["scope"]
    http = httpx.Client(
        base_url=stack["api_url"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=60
    )
    return DocumentsClient(user_id, tenant, http)


def pdf_with_pages(pages: list[str]) -> bytes:
    """A real PDF (fpdf2) with one paragraph per page."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())
