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
from urllib.parse import urlsplit

from ..errors import FetchError, InsecureEndpointError

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
        self._token = token
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
        try:
            return CLOUDS[cloud.lower()]
        except KeyError:
            raise FetchError(
                f"unknown cloud {cloud!r}; use one of {', '.join(CLOUDS)} or pass endpoint=URL"
            ) from None
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
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, lower-cased, default ports filled: what must match.

    Example::

        >>> origin("HTTPS://Management.Azure.com/subscriptions")
        ('https', 'management.azure.com', 443)
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def check_endpoint(endpoint: str) -> str:
    """Return ``endpoint`` if a token may go there: https, or http on a loopback address.

    Raises:
        InsecureEndpointError: plain http to a non-loopback host, or not an http(s) URL.
    """
    scheme, host, _ = origin(endpoint)
    if scheme not in ("http", "https") or not host:
        raise InsecureEndpointError(
            f"endpoint {endpoint!r} is not an http(s) URL; pass e.g. https://management.azure.com",
            url=endpoint,
        )
    if scheme == "http" and not is_loopback(host):
        raise InsecureEndpointError(
            f"refusing to send a token over plain http to {host}; use https "
            "(http is allowed only for loopback addresses such as the local emulator)",
            url=endpoint,
        )
    return endpoint


class TokenProvider:
    """Thread-safe token cache: asks the credential again when the token expires within 5 min."""

    def __init__(self, credential: TokenCredential, scope: str, margin: float = REFRESH_MARGIN):
        self._credential = credential
        self._scope = scope
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def token(self, *, force: bool = False) -> str:
        """A valid bearer token (a fresh one when ``force`` or close to expiry)."""
        with self._lock:
            if force or self._token is None or self._expires_on - time.time() < self._margin:
                try:
                    got = self._credential.get_token(self._scope)
                except Exception as exc:  # credentials raise many types; all mean "no token"
                    raise FetchError(
                        f"could not get a token for {self._scope}: {type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''} -- sign in "
                        "(`az login`, managed identity or AZURE_* variables) or pass credential="
                    ) from exc
                self._token, self._expires_on = got.token, float(got.expires_on)
            return self._token

    def __repr__(self) -> str:
        return f"TokenProvider(scope={self._scope!r}, token='***')"
