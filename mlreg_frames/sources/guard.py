"""The token guard: which URL a bearer token may travel to, which token may travel, and scrubbing.

Three jobs, each one a class of attack closed at the root:

* :func:`request_origin` decides the (scheme, host, port) of a URL exactly as the HTTP layer
  will: the URL is prepared by ``requests`` and the prepared URL parsed by
  ``urllib3.util.parse_url``, the same two steps ``requests`` takes before it opens a
  connection. URLs that parsers disagree on are refused outright: a backslash (literal or
  ``%5C``), any ``%`` escape or non-ASCII letter in the authority, userinfo (``user@``),
  whitespace or control characters anywhere, a scheme other than http(s), scheme-relative
  links (``//host/x``), a port that is not 1-65535, a malformed IPv6 literal.
* :func:`check_token` refuses a token that is not a non-empty ``str`` of visible ASCII before
  it reaches a header (a CR/LF would split the request, and ``requests`` would echo the whole
  header, token included, in its error).
* :class:`Redactor` removes every token seen from exception messages (the whole
  ``__cause__``/``__context__`` chain) and from log records.

Example::

    >>> request_origin("HTTPS://Management.Azure.com/subscriptions")
    Origin(scheme='https', host='management.azure.com', port=443)
    >>> request_origin("http://127.0.0.2:8\\\\@127.0.0.1:9/x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlreg_frames.errors.InsecureEndpointError: refusing URL ...: it contains a backslash, ...
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
from typing import NamedTuple

import requests
from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

from ..errors import FetchError, InsecureEndpointError

__all__ = [
    "REDACTED",
    "REDACTOR",
    "Origin",
    "Redactor",
    "check_token",
    "guarded_logger",
    "request_origin",
    "request_path",
]

REDACTED = "***"
"""What a token is replaced with in messages and logs."""

_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Everything an attacker could use to make two parsers disagree on where the authority ends.
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f"
                               r"\u205f-\u206f\u3000\ufeff]")  # fmt: skip
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
_TOKEN = re.compile(r"^[\x21-\x7e]+$")


class Origin(NamedTuple):
    """Where a request goes: lower-case scheme and host, and the port (defaults filled in)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def _refuse(url: object, why: str) -> InsecureEndpointError:
    text = url if isinstance(url, str) else repr(url)
    shown = text if len(text) <= 200 else text[:197] + "..."
    return InsecureEndpointError(
        f"refusing URL {shown!r}: {why}; nothing was sent",
        url=shown if isinstance(url, str) else None,
    )


def _check_text(url: object) -> str:
    """The raw-text rules, checked before any parser sees the URL."""
    if not isinstance(url, str):
        raise _refuse(url, f"a URL must be a str, not {type(url).__name__}")
    if not url:
        raise _refuse(url, "it is empty")
    if "\\" in url:
        raise _refuse(url, "it contains a backslash, which URL parsers read differently")
    if _SPACE_OR_CONTROL.search(url):
        raise _refuse(url, "it contains whitespace or a control character")
    if url.startswith("//"):
        raise _refuse(url, "a scheme-relative link (//host) has no scheme; links must be absolute")
    match = _AUTHORITY.match(url)
    if match is None:
        raise _refuse(url, "it is not an absolute http(s) URL (scheme://host/...)")
    scheme = url.split(":", 1)[0].lower()
    if scheme not in _SCHEMES:
        raise _refuse(url, f"scheme {scheme!r} is not http or https")
    authority = match.group(1)
    if "@" in authority:
        raise _refuse(url, "it carries userinfo (user@host), which could hide the real host")
    if "%" in authority:
        raise _refuse(url, "its host is percent-encoded (such as %5C or %2E)")
    if not authority.isascii():
        raise _refuse(url, "its host has non-ASCII characters; use the host's ASCII (IDNA) form")
    return url


@functools.lru_cache(maxsize=1024)
def _origin_of(text: str) -> Origin:
    """:func:`request_origin` of a str, cached (a URL is checked several times per request)."""
    return _decide(text)


def request_origin(url: object) -> Origin:
    """(scheme, host, port) that ``requests`` will connect to for ``url``, or a refusal.

    The URL is prepared as ``requests`` prepares it and the result parsed with urllib3's
    ``parse_url``, the parser the connection pool uses, so the guard and the HTTP layer
    cannot disagree.

    Raises:
        InsecureEndpointError: the URL is refused (the message says why); nothing is sent.

    Example::

        >>> request_origin("http://[::1]:8080/x")
        Origin(scheme='http', host='[::1]', port=8080)
    """
    if not isinstance(url, str):
        raise _refuse(url, f"a URL must be a str, not {type(url).__name__}")
    return _origin_of(url)


def request_path(url: object) -> str:
    """The path ``requests`` will ask for at ``url``'s origin (as the connection pool parses it).

    The same two steps as :func:`request_origin` (prepare, then urllib3's ``parse_url``), so a
    check on the path (a ``nextLink`` staying inside its list) reads the URL exactly as the
    request will; escapes of unreserved characters are decoded as ``requests`` decodes them.

    Raises:
        InsecureEndpointError: the URL is refused, as by :func:`request_origin`.

    Example::

        >>> request_path("https://management.azure.com/%73ubscriptions/x?a=1")
        '/subscriptions/x'
    """
    request_origin(url)  # every rule of the origin applies
    return _parsed(str(url)).path or "/"


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> Url:
    """``text`` prepared by ``requests`` and parsed by urllib3 (the text rules checked first)."""
    _check_text(text)
    try:
        prepared = requests.PreparedRequest()
        prepared.prepare_url(text, None)
        return parse_url(str(prepared.url))
    except (requests.RequestException, LocationParseError, ValueError, UnicodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _refuse(text, f"it does not parse ({reason[:120]})") from None


def _decide(url: str) -> Origin:
    """The text rules, then the origin of the URL as ``requests`` prepares it."""
    text = _check_text(url)
    parsed = _parsed(text)
    scheme = (parsed.scheme or "").lower()
    if scheme not in _SCHEMES:
        raise _refuse(url, f"scheme {scheme!r} is not http or https")
    if parsed.auth is not None:
        raise _refuse(url, "it carries userinfo (user@host), which could hide the real host")
    host = (parsed.host or "").lower()
    if not host or host.startswith(".") or ".." in host:
        raise _refuse(url, "it has no valid host")
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535 or _explicit_port(text) == 0:
        raise _refuse(url, "its port is not between 1 and 65535")
    return Origin(scheme, host, port)


def _explicit_port(url: str) -> int | None:
    """The port written in ``url``'s authority, if any (``requests`` drops ``:0`` silently)."""
    authority = _AUTHORITY.match(url).group(1)  # type: ignore[union-attr]
    hostport = authority.rsplit("]", 1)[-1]
    if ":" not in hostport:
        return None
    digits = hostport.rsplit(":", 1)[1]
    return int(digits) if digits.isdigit() else None


def check_token(token: object, *, where: str = "the credential") -> str:
    """Return ``token`` if it may go in an ``Authorization: Bearer`` header, else raise.

    A token must be a non-empty ``str`` of visible ASCII characters: no spaces, CR/LF or
    other control characters (they would split or corrupt the header). The message never
    contains the token.

    Raises:
        FetchError: the token is missing, not a str, or has a forbidden character.

    Example::

        >>> check_token("eyJ0eXAi.abc-_")
        'eyJ0eXAi.abc-_'
        >>> check_token("a\\r\\nX-Evil: 1")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlreg_frames.errors.FetchError: the token ... has a control character (code 13) at ...
    """
    if not isinstance(token, str):
        raise FetchError(
            f"the token from {where} is a {type(token).__name__}, not a str; a credential's "
            "get_token() must return an AccessToken(token: str, expires_on: int)"
        )
    if not token:
        raise FetchError(f"the token from {where} is empty; sign in again or check the credential")
    if not _TOKEN.match(token):
        position, char = next((i, c) for i, c in enumerate(token) if not "\x21" <= c <= "\x7e")
        if char == " ":
            kind = "a space"
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            kind = "a control character"
        else:
            kind = "a non-ASCII character"
        raise FetchError(
            f"the token from {where} has {kind} (code {ord(char)}) at position {position}, "
            "which would corrupt the Authorization header; check the credential "
            "(the token itself is not shown)"
        )
    return token


class Redactor(logging.Filter):
    """Removes known secrets from text, exception chains and log records (thread-safe).

    Add every token as it is obtained (:meth:`add`); install it on loggers with
    ``logger.addFilter(redactor)``; pass exceptions through :meth:`scrub` before they leave.

    Example::

        >>> r = Redactor()
        >>> r.add("s3cr3t-token")
        >>> r.redact("Bearer s3cr3t-token was refused")
        'Bearer *** was refused'
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        """Remember ``secret`` (ignored when shorter than 4 characters: too likely to collide)."""
        if isinstance(secret, str) and len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)
                # the header form ``requests`` echoes in InvalidHeader messages
                for line in secret.splitlines():
                    if len(line) >= 8:
                        self._secrets.add(line)

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _redact_value(self, value: object) -> object:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bytes):
            try:
                return self.redact(value.decode("latin-1")).encode("latin-1")
            except UnicodeError:  # pragma: no cover - latin-1 round trips every byte
                return value
        if isinstance(value, BaseException):
            self.scrub(value)
        return value

    def scrub(self, exc: BaseException | None) -> BaseException | None:
        """Redact ``exc`` and its whole cause/context chain in place; returns ``exc``.

        Drops the prepared request (it holds the Authorization header) from ``requests``
        errors, redacts string and bytes arguments and attributes, and recurses into
        exceptions held as arguments or ``reason`` (urllib3 nests them).
        """
        seen: set[int] = set()
        stack = [exc]
        while stack:
            current = stack.pop()
            if current is None or id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current, requests.RequestException):
                current.request = None
                if current.response is not None:
                    current.response.request = None  # type: ignore[assignment]
            current.args = tuple(self._redact_value(arg) for arg in current.args)
            for name, value in list(getattr(current, "__dict__", {}).items()):
                if isinstance(value, (str, bytes)):
                    with contextlib.suppress(AttributeError, TypeError):
                        setattr(current, name, self._redact_value(value))
                elif isinstance(value, BaseException):
                    stack.append(value)
            for arg in current.args:
                if isinstance(arg, BaseException):
                    stack.append(arg)
            if isinstance(current, OSError):
                for name in ("strerror", "filename", "filename2"):
                    value = getattr(current, name, None)
                    if isinstance(value, str):
                        setattr(current, name, self.redact(value))
            stack += [current.__cause__, current.__context__]
        return exc

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact a log record's message and arguments; never drops the record."""
        if not self._secrets:
            return True
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.redact(a) if isinstance(a, str) else self.redact(str(a))
                if isinstance(a, BaseException) else a
                for a in record.args
            )  # fmt: skip
        if record.exc_info and record.exc_info[1] is not None:
            self.scrub(record.exc_info[1])
            record.exc_text = None
        return True


REDACTOR = Redactor()
"""The process-wide redactor: every token a :class:`~mlreg_frames.sources.auth.TokenProvider`
obtains is added to it, and it filters the loggers of :mod:`mlreg_frames.sources`."""


def guarded_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with :data:`REDACTOR` as a filter (added once).

    Example::

        >>> guarded_logger("mlreg_frames.sources.example").filters[-1] is REDACTOR
        True
    """
    logger = logging.getLogger(name)
    if REDACTOR not in logger.filters:
        logger.addFilter(REDACTOR)
    return logger
