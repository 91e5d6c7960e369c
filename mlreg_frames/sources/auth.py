"""Who may receive a token, and which token: clouds, the endpoint guard, credentials.

The bearer token for Azure Resource Manager is requested for ``<endpoint>/.default`` and may
only travel over https, or plain http to a loopback address (the local emulator). Tokens are
cached per scope and refreshed five minutes before they expire; nothing here ever puts a
token in a repr, a log line or an exception.

Example::

    >>> resolve_endpoint(cloud="usgov")
    'https://management.usgovcloudapi.net'
    >>> token_scope("https://management.azure.com")
    'https://management.azure.com/.default'
    >>> check_endpoint("http://127.0.0.1:8080")
    'http://127.0.0.1:8080'
"""

from __future__ import annotations

import ipaddress
import threading
import time
from typing import Any, NamedTuple, Protocol

from ..errors import FetchError, InsecureEndpointError, InvalidArgumentError
from .guard import REDACTOR, Origin, Redactor, check_token, request_origin

__all__ = [
    "AUTHORITIES",
    "CLOUDS",
    "REFRESH_MARGIN",
    "AccessToken",
    "StaticTokenCredential",
    "TokenCredential",
    "TokenProvider",
    "check_endpoint",
    "default_credential",
    "is_loopback",
    "origin",
    "resolve_endpoint",
    "token_scope",
]

CLOUDS: dict[str, str] = {
    "public": "https://management.azure.com",
    "china": "https://management.chinacloudapi.cn",
    "usgov": "https://management.usgovcloudapi.net",
}
"""ARM endpoints of the Azure clouds, by the name ``cloud=`` / ``--cloud`` takes."""

AUTHORITIES: dict[str, str] = {
    "https://management.azure.com": "login.microsoftonline.com",
    "https://management.chinacloudapi.cn": "login.chinacloudapi.cn",
    "https://management.usgovcloudapi.net": "login.microsoftonline.us",
}
"""The Microsoft Entra authority that issues tokens for each cloud's ARM endpoint."""

REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a cached token is replaced."""


class AccessToken(NamedTuple):
    """A bearer token and its expiry (epoch seconds), shaped like azure-core's."""

    token: str
    expires_on: int

    def __repr__(self) -> str:
        return f"AccessToken(token='***', expires_on={self.expires_on})"


class TokenCredential(Protocol):
    """Anything with ``get_token(scope)``: every azure-identity credential qualifies."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


class StaticTokenCredential:
    """A credential that hands out one fixed token: for the emulator, CI and demos.

    Example::

        >>> StaticTokenCredential("secret")
        StaticTokenCredential(token='***')
    """

    def __init__(self, token: str, *, expires_in: float = 3600.0):
        self._token = token  # checked when first used, so the error names the fetch
        self._expires_in = expires_in

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time() + self._expires_in))

    def __repr__(self) -> str:
        return "StaticTokenCredential(token='***')"


def default_credential(endpoint: str = CLOUDS["public"]) -> TokenCredential:
    """``azure.identity.DefaultAzureCredential`` with the authority of ``endpoint``'s cloud.

    Imported lazily, so code that passes its own credential never loads azure-identity.
    """
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:
        raise FetchError(
            "azure-identity is not installed; `pip install azure-identity` or pass credential="
        ) from exc
    authority = AUTHORITIES.get(endpoint.rstrip("/").lower())
    return DefaultAzureCredential(**({"authority": authority} if authority else {}))


def resolve_endpoint(endpoint: str | None = None, cloud: str | None = None) -> str:
    """The ARM endpoint for a ``cloud`` preset name, or ``endpoint`` itself, without a trailing /.

    Example::

        >>> resolve_endpoint(cloud="china")
        'https://management.chinacloudapi.cn'
    """
    if cloud is not None:
        if not isinstance(cloud, str):
            raise InvalidArgumentError(
                f"cloud must be one of {', '.join(CLOUDS)} (a str), got {cloud!r}", argument="cloud"
            )
        try:
            return CLOUDS[cloud.lower()]
        except KeyError:
            raise FetchError(
                f"unknown cloud {cloud!r}; use one of {', '.join(CLOUDS)} or pass endpoint=URL"
            ) from None
    if endpoint is not None and not isinstance(endpoint, str):
        raise InvalidArgumentError(
            "endpoint must be a URL (a str) such as https://management.azure.com, "
            f"got {endpoint!r}",
            argument="endpoint",
        )
    return (endpoint or CLOUDS["public"]).rstrip("/")


def token_scope(endpoint: str) -> str:
    """The token scope for an ARM endpoint: ``<endpoint>/.default``.

    Example::

        >>> token_scope("https://management.usgovcloudapi.net/")
        'https://management.usgovcloudapi.net/.default'
    """
    return endpoint.rstrip("/") + "/.default"


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: hosts that may be spoken to over http.

    Example::

        >>> is_loopback("127.0.0.2"), is_loopback("management.azure.com")
        (True, False)
    """
    if host.lower() == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> Origin:
    """(scheme, host, port) a request to ``url`` goes to, as the HTTP layer decides it.

    See :func:`mlreg_frames.sources.guard.request_origin` (which this is): URLs that parsers
    could read differently are refused with :class:`~mlreg_frames.errors.InsecureEndpointError`.

    Example::

        >>> origin("HTTPS://Management.Azure.com/subscriptions")
        Origin(scheme='https', host='management.azure.com', port=443)
    """
    return request_origin(url)


def check_endpoint(endpoint: str) -> str:
    """Return ``endpoint`` if a token may go there: https, or http on a loopback address.

    Raises:
        InsecureEndpointError: plain http to a non-loopback host, or not a clean http(s) URL
            (backslashes, userinfo, bad ports... see :func:`origin`).
    """
    try:
        scheme, host, _ = origin(endpoint)
    except InsecureEndpointError as exc:
        raise InsecureEndpointError(
            f"endpoint {endpoint!r} is not a clean http(s) URL ({str(exc).split(': ', 1)[-1]}); "
            "pass e.g. https://management.azure.com",
            url=endpoint if isinstance(endpoint, str) else None,
        ) from None
    if scheme == "http" and not is_loopback(host):
        raise InsecureEndpointError(
            f"refusing to send a token over plain http to {host}; use https "
            "(http is allowed only for loopback addresses such as the local emulator)",
            url=endpoint,
        )
    return endpoint


class TokenProvider:
    """Thread-safe token cache: asks the credential again when the token expires within 5 min.

    Every token is checked (:func:`~mlreg_frames.sources.guard.check_token`) before use and
    handed to ``redactor``, so it can be scrubbed from errors and logs.
    """

    def __init__(
        self,
        credential: TokenCredential,
        scope: str,
        margin: float = REFRESH_MARGIN,
        *,
        redactor: Redactor | None = None,
    ):
        self._credential = credential
        self._scope = scope
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0
        self.redactor = redactor or REDACTOR

    def token(self, *, force: bool = False) -> str:
        """A valid bearer token (a fresh one when ``force`` or close to expiry)."""
        with self._lock:
            if force or self._token is None or self._expires_on - time.time() < self._margin:
                try:
                    got = self._credential.get_token(self._scope)
                except Exception as exc:  # credentials raise many types; all mean "no token"
                    self.redactor.scrub(exc)
                    first = str(exc).splitlines()[0] if str(exc) else ""
                    raise FetchError(
                        f"could not get a token for {self._scope}: {type(exc).__name__}: "
                        f"{self.redactor.redact(first)} -- sign in "
                        "(`az login`, managed identity or AZURE_* variables) or pass credential="
                    ) from exc
                token, expires_on = _unpack(got)
                if isinstance(token, str):
                    self.redactor.add(token)
                checked = check_token(
                    token, where=f"the credential ({type(self._credential).__name__})"
                )
                self._token, self._expires_on = checked, expires_on
            return self._token

    def __repr__(self) -> str:
        return f"TokenProvider(scope={self._scope!r}, token='***')"


def _unpack(got: object) -> tuple[object, float]:
    """(token, expires_on) of what ``get_token`` returned, or a clear error."""
    token = getattr(got, "token", None)
    expires_on = getattr(got, "expires_on", None)
    if token is None or isinstance(got, (str, bytes)):
        raise FetchError(
            f"the credential's get_token() returned a {type(got).__name__}, not an "
            "AccessToken(token, expires_on); use an azure-identity credential or "
            "StaticTokenCredential(token)"
        )
    ok = isinstance(expires_on, (int, float)) and not isinstance(expires_on, bool)
    if not ok:
        raise FetchError(
            "the credential's get_token() returned an expires_on that is not a number "
            f"({type(expires_on).__name__}); expected epoch seconds"
        )
    return token, float(expires_on)  # type: ignore[arg-type]
