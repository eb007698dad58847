"""The app's two cookies: the session handle and the pending sign-in handle.

`__Host-` prefixed, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`. Chromium stores `Secure`
cookies from http://127.0.0.1 (a potentially trustworthy origin), so the local stage keeps the
prefix too; on any other plain-http host the prefix cannot be used and the bare name is.
"""

from fastapi import Request, Response

SESSION = "echo_web"
LOGIN = "echo_web_login"
MAX_VALUE_LENGTH = 128


def cookie_name(base: str, *, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


def read_cookie(request: Request, base: str, *, secure: bool) -> str | None:
    value = request.cookies.get(cookie_name(base, secure=secure))
    return value if value and len(value) <= MAX_VALUE_LENGTH else None


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
