"""What to make of ARM's failures: which to retry, how long to wait, which error to raise.

The pure half of talking to ARM, split from the HTTP in :mod:`mlreg_frames.sources.client` so it can
be read (and tested) without a server:

* :class:`RetryPolicy`: bounded attempts, the ``Retry-After`` cap, backoff with jitter;
* :func:`parse_retry_after`: a ``Retry-After`` header (seconds or an HTTP date) as seconds;
* :data:`RETRYABLE_ERRORS`: the ``requests`` errors worth another attempt;
* :func:`arm_error`: an ARM ``ErrorResponse`` as an :class:`~mlreg_frames.errors.ArmError`
  with status, code, message, target, request id, scope and a hint on what to do next;
* :func:`scrub`: a ``requests`` error without the request that holds the token.

Example::

    >>> RetryPolicy(max_attempts=3).max_retry_after
    60.0
    >>> parse_retry_after("120")
    120.0
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import datetime, timezone

import requests

from ..errors import ArmError

__all__ = [
    "RETRYABLE_ERRORS",
    "RetryPolicy",
    "arm_error",
    "parse_retry_after",
    "scrub",
]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    Example::

        >>> parse_retry_after("7")
        7.0
        >>> parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT",
        ...                   now=datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc))
        5.0
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: bounded attempts, the Retry-After cap, exponential backoff with jitter.

    Attributes:
        max_attempts: requests per URL before giving up (1 = no retries).
        max_retry_after: longest wait honoured from a Retry-After header, in seconds; longer
            asks are cut to this and logged.
        backoff_base: first backoff in seconds; doubles each attempt (plus jitter).
        backoff_max: longest backoff in seconds.
    """

    max_attempts: int = 6
    max_retry_after: float = 60.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Wait before retry ``attempt`` (1-based): half fixed, half random ("equal jitter")."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


RETRYABLE_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
"""``requests`` errors that mean "no answer yet": retried with backoff."""

_HINTS = {
    401: "the token was not accepted: sign in again (`az login`) or check the credential, "
    "and that --cloud/endpoint matches the tenant's cloud",
    403: "the identity needs the Reader role (or Microsoft.MachineLearningServices/registries/"
    "read) on {scope}: ask an owner to assign it, or leave this scope out",
    404: "check the subscription id / resource group name, and that the identity can see it",
    409: "the subscription may be disabled or moving; check its state in the portal",
    429: "ARM kept throttling: use fewer workers, raise max_retry_after, or retry later",
}


def _error_fields(response: requests.Response) -> tuple[str | None, str | None, str | None]:
    try:
        body = response.json()
    except ValueError:
        return None, None, None
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    # ARM nests sometimes: {"error": {"code", "message", "target", "details": [...]}}
    code, message, target = error.get("code"), error.get("message"), error.get("target")
    return (
        str(code) if code is not None else None,
        str(message) if message is not None else None,
        str(target) if target is not None else None,
    )


def arm_error(
    response: requests.Response,
    url: str,
    scope: str | None,
    subscription_id: str | None = None,
    resource_group: str | None = None,
) -> ArmError:
    """The :class:`~mlreg_frames.errors.ArmError` for an ARM error answer, with a hint.

    The body may be an ARM ``ErrorResponse`` (``{"error": {"code", "message", "target"}}``),
    a bare error object, or not JSON at all (a gateway's HTML page): what is there is kept.

    Example::

        >>> answer = requests.Response()
        >>> answer.status_code, answer._content = 404, b'{"error": {"code": "NotFound"}}'
        >>> arm_error(answer, "https://management.azure.com/x", "/subscriptions/s").code
        'NotFound'
    """
    status = response.status_code
    code, message, target = _error_fields(response)
    request_id = response.headers.get("x-ms-request-id")
    hint = _HINTS.get(status)
    if hint is None:
        hint = "ARM failed repeatedly: retry later" if status >= 500 else "check the request"
    if 300 <= status < 400:
        hint = (
            "ARM does not redirect list calls; the redirect was not followed (the token goes "
            "only to the endpoint) and its body was read no further than the error-body cap: "
            "check the endpoint"
        )
    if code == "InvalidAuthenticationTokenAudience":
        hint = "the token is for another cloud: pass cloud=/--cloud matching the tenant"
    text = (
        f"ARM answered {status} {code or response.reason or ''}".rstrip()
        + f" while listing {scope or url}"
        + (f": {message}" if message else "")
        + (f" (request id {request_id})" if request_id else "")
        + f" -- {hint.format(scope=scope or 'the scope')}"
    )
    return ArmError(
        text,
        status=status,
        code=code,
        arm_message=message,
        target=target,
        request_id=request_id,
        url=url,
        scope=scope,
        subscription_id=subscription_id,
        resource_group=resource_group,
    )


def scrub(exc: BaseException) -> None:
    """Drop the prepared request (it holds the Authorization header) from a requests error."""
    if isinstance(exc, requests.RequestException):
        exc.request = None
        if exc.response is not None:
            exc.response.request = None  # type: ignore[assignment]
