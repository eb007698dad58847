"""The environment rules every function's settings share, and a plain loader that applies them.

`echo_shared.settings` builds its pydantic models on these rules. A function whose cold start
cannot afford pydantic's import (the authorizer, ADR 0015) loads its settings with `EnvReader`:
the same variable names, bounds and checks, problems reported in the words `EnvSettings.from_env`
uses. A unit test runs both loaders over the same environments and compares values and errors.
"""

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Literal

type LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVELS: tuple[LogLevel, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RESOURCE_NAME_MAX_LENGTH = 2048
# pydantic's lax str -> bool table.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


class Stage(StrEnum):
    LOCAL = "local"
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"

    @property
    def is_sandbox(self) -> bool:
        return self in (Stage.LOCAL, Stage.DEV)


class SettingsError(Exception):
    """The environment is missing a value or holds an unsafe one (names only, never values)."""


def refuse_debug_logs_outside_sandbox(stage: Stage, log_level: str) -> None:
    # Library debug logs (botocore, PynamoDB) print request payloads, i.e. event data.
    if log_level == "DEBUG" and not stage.is_sandbox:
        raise ValueError("LOG_LEVEL=DEBUG is only allowed in the local and dev stages")


def _expected(options: tuple[str, ...]) -> str:
    quoted = [f"'{option}'" for option in options]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def _as_int(value: str) -> int | None:
    """pydantic's lax str -> int: surrounding whitespace, a sign, `_` separators, `.0…` allowed."""
    text = value.strip()
    whole, dot, fraction = text.partition(".")
    if dot and (not fraction or fraction.strip("0")):
        return None
    if not whole.isascii():
        return None
    try:
        return int(whole)
    except ValueError:
        return None


class EnvReader:
    """Typed reads from one environment; problems are collected and raised together by `settings`."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._problems: list[str] = []

    def _raw(self, name: str, default: str | None = None) -> str | None:
        value = self._environ.get(name)
        if value is None and default is None:
            self._problems.append(f"{name}: Field required")
        return value

    def resource_name(self, name: str) -> str:
        """`ResourceName`: stripped, 1 to 2048 characters."""
        value = self._raw(name)
        if value is None:
            return ""
        stripped = value.strip()
        if not stripped:
            self._problems.append(f"{name}: String should have at least 1 character")
        elif len(stripped) > RESOURCE_NAME_MAX_LENGTH:
            self._problems.append(f"{name}: String should have at most {RESOURCE_NAME_MAX_LENGTH} characters")
        return stripped

    def text(self, name: str, check: Callable[[str], str]) -> str:
        """A required string passed through `check` (a ValueError is the problem)."""
        value = self._raw(name)
        if value is None:
            return ""
        try:
            return check(value)
        except ValueError as exc:
            self._problems.append(f"{name}: Value error, {exc}")
            return value

    def choice[T: str](self, name: str, options: tuple[T, ...], default: T | None = None) -> T:
        value = self._raw(name, default)
        if value is None:
            return default if default is not None else options[0]
        for option in options:
            if value == option:
                return option
        self._problems.append(f"{name}: Input should be {_expected(options)}")
        return options[0]

    def integer(self, name: str, *, default: int, ge: int, le: int) -> int:
        value = self._environ.get(name)
        if value is None:
            return default
        number = _as_int(value)
        if number is None:
            self._problems.append(
                f"{name}: Input should be a valid integer, unable to parse string as an integer"
            )
            return default
        if number < ge:
            self._problems.append(f"{name}: Input should be greater than or equal to {ge}")
        elif number > le:
            self._problems.append(f"{name}: Input should be less than or equal to {le}")
        return number

    def boolean(self, name: str, *, default: bool) -> bool:
        value = self._environ.get(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self._problems.append(f"{name}: Input should be a valid boolean, unable to interpret input")
        return default

    def settings[S](self, model: Callable[..., S], values: dict[str, Any], *checks: Callable[[], None]) -> S:
        """`model(**values)` if every read succeeded and then every whole-settings check passes (in
        order, the first failure reported, as pydantic's model validators); else SettingsError."""
        if not self._problems:
            for check in checks:
                try:
                    check()
                except ValueError as exc:
                    self._problems.append(f"settings: Value error, {exc}")
                    break
        if self._problems:
            name = getattr(model, "__name__", "settings")
            raise SettingsError(f"invalid {name}: {'; '.join(self._problems)}")
        return model(**values)


def env_settings_values(reader: EnvReader) -> dict[str, Any]:
    """What `EnvSettings` reads: the stage, the Powertools service and namespace, the log level."""
    return {
        "stage": Stage(reader.choice("ECHO_STAGE", tuple(Stage))),
        "service_name": reader.resource_name("POWERTOOLS_SERVICE_NAME"),
        "metrics_namespace": reader.resource_name("POWERTOOLS_METRICS_NAMESPACE"),
        "log_level": reader.choice("LOG_LEVEL", LOG_LEVELS, default="INFO"),
    }
