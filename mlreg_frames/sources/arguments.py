"""Argument checks shared by the sources: clear errors before any request is sent.

:func:`~mlreg_frames.fetch_registries` (either source) and
:func:`~mlreg_frames.sources.graph.fetch_graph` check their arguments here, so a bad value
gets the same :class:`~mlreg_frames.errors.InvalidArgumentError` (naming the argument and
what is allowed) whichever function it was passed to.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgumentError

__all__ = [
    "CommonArguments",
    "check_credential",
    "number_argument",
    "subscription_ids_argument",
    "text_argument",
    "timeout_argument",
]


def text_argument(name: str, value: object, *, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            f"{name} must be a non-empty str{' or None' if allow_none else ''}, got {value!r}",
            argument=name,
        )
    return value


def _subscription_id(value: object, position: int | None) -> str:
    where = "subscription_ids" if position is None else f"subscription_ids[{position}]"
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            f"{where} must be a subscription id (a non-empty str), got {value!r}",
            argument="subscription_ids",
        )
    if any(c in value.strip() for c in "/?#\\%") or not value.strip().isprintable():
        raise InvalidArgumentError(
            f"{where} {value!r} is not a subscription id (no '/', '?', '#', '%' or '\\\\'); "
            "pass the GUID shown by `az account list`",
            argument="subscription_ids",
        )
    return value


def subscription_ids_argument(value: object) -> str | list[str] | Iterator[str] | None:
    """Checked subscription ids: a list is checked whole now, an iterator item by item."""
    if value is None:
        return None
    if isinstance(value, str):
        return _subscription_id(value, None)
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, Iterable):
        raise InvalidArgumentError(
            "subscription_ids must be a subscription id (str), a list of them, or None for "
            f"every subscription the identity sees; got {type(value).__name__} {value!r}",
            argument="subscription_ids",
        )
    if isinstance(value, Iterator):
        return (_subscription_id(v, i) for i, v in enumerate(value))
    return [_subscription_id(v, i) for i, v in enumerate(value)]


def number_argument(name: str, value: object, minimum: float, *, whole: bool = False) -> Any:
    ok = isinstance(value, int) if whole else isinstance(value, (int, float))
    if (
        not ok
        or isinstance(value, bool)
        or not math.isfinite(value)  # type: ignore[arg-type]
        or value < minimum  # type: ignore[operator]
    ):
        kind = "a whole number" if whole else "a number"
        raise InvalidArgumentError(
            f"{name} must be {kind} of at least {minimum:g}, got {value!r}", argument=name
        )
    return value


def timeout_argument(value: object) -> tuple[float, float]:
    parts = value if isinstance(value, tuple) else (value, value)
    if len(parts) != 2:
        raise InvalidArgumentError(
            f"timeout must be seconds or a (connect, read) pair, got {value!r}",
            argument="timeout",
        )
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (int, float)) or not part > 0:
            raise InvalidArgumentError(
                f"timeout must be seconds above 0 or a (connect, read) pair of them, got {value!r}",
                argument="timeout",
            )
        if not math.isfinite(part):
            raise InvalidArgumentError(f"timeout must be finite, got {value!r}", argument="timeout")
    return float(parts[0]), float(parts[1])


def check_credential(credential: object) -> None:
    if credential is not None and not callable(getattr(credential, "get_token", None)):
        raise InvalidArgumentError(
            f"credential must have a get_token(scope) method (an azure-identity credential or "
            f"StaticTokenCredential), got {type(credential).__name__}",
            argument="credential",
        )


@dataclass(frozen=True)
class CommonArguments:
    """The arguments both sources take, checked (and normalised where it helps)."""

    subscription_ids: str | list[str] | Iterator[str] | None
    resource_group: str | None
    timeout: tuple[float, float]

    @classmethod
    def checked(
        cls,
        subscription_ids: object,
        resource_group: object,
        endpoint: object,
        timeout: object,
        max_attempts: object,
        max_retry_after: object,
        backoff_base: object,
        credential: object,
        raw_dir: object,
    ) -> CommonArguments:
        """Check every shared argument; raise :class:`InvalidArgumentError` on the first bad one."""
        checked_ids = subscription_ids_argument(subscription_ids)
        group = text_argument("resource_group", resource_group)
        text_argument("endpoint", endpoint, allow_none=False)
        number_argument("max_attempts", max_attempts, 1, whole=True)
        number_argument("max_retry_after", max_retry_after, 0)
        number_argument("backoff_base", backoff_base, 0)
        pair = timeout_argument(timeout)
        check_credential(credential)
        if raw_dir is not None and not isinstance(raw_dir, (str, os.PathLike)):
            raise InvalidArgumentError(
                f"raw_dir must be a folder path or None, got {raw_dir!r}", argument="raw_dir"
            )
        return cls(checked_ids, group, pair)
