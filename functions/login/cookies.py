"""The session and pre-login cookies: `__Host-` prefixed and `Secure` when served over https,
always `HttpOnly`, `SameSite=Lax`, `Path=/`. Their values are random handles; the store keeps
only their SHA-256."""

from fastapi import Request, Response

SESSION = "echo_session"
LOGIN = "echo_login"


def cookie_name(base: str, *, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


def read_cookie(request: Request, base: str, *, secure: bool) -> str | None:
    value = request.cookies.get(cookie_name(base, secure=secure))
    return value if value and len(value) <= 128 else None


def set_cookie(response: Response, base: str, value: str, *, max_age: int, secure: bool) -> None:
    response.set_cookie(
        cookie_name(base, secure=secure),
        value,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, base: str, *, secure: bool) -> None:
    response.delete_cookie(
        cookie_name(base, secure=secure), path="/", secure=secure, httponly=True, samesite="lax"
    )
