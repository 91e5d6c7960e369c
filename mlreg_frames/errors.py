"""The exception tree of mlreg_frames: one root, one subclass per stage.

Every error the package raises on purpose derives from :class:`MlregFramesError`, so a
notebook or a pipeline can catch exactly the package's failures with one ``except``::

    MlregFramesError                 root: catch this to catch everything below
    ├── PagesError                   a page file / folder cannot be read (path, line)
    ├── FlattenError                 a payload is structurally broken (page, registry, field path)
    ├── SchemaError                  a table does not match the declared schema (table, column)
    ├── InvalidArgumentError         an argument is out of range or of the wrong type (argument)
    ├── FetchError                   talking to ARM failed (url, scope, code)
    │   ├── ArmError                 ARM answered with an error (status, code, request id)
    │   ├── InsecureEndpointError    a token would go to a host or scheme it must not
    │   ├── LimitExceededError       a server went past a fetch limit (limit, code)
    │   └── PaginationError          a nextLink loops or is not a URL
    ├── LakeError                    a snapshot lake cannot be written or read
    └── CostExportError              a cost export CSV has an unknown format

Messages end with what to do next; the structured facts are attributes, so code can branch
on them without parsing text.
"""

from __future__ import annotations

__all__ = [
    "ArmError",
    "CostExportError",
    "FetchError",
    "FlattenError",
    "InsecureEndpointError",
    "InvalidArgumentError",
    "LakeError",
    "LimitExceededError",
    "MlregFramesError",
    "PagesError",
    "PaginationError",
    "SchemaError",
]


class MlregFramesError(Exception):
    """Root of every error mlreg_frames raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # The subclasses take keyword-only details, which Exception's default pickling
        # drops; keep them, so an error raised in a worker process arrives whole.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(
    cls: type[MlregFramesError], args: tuple[object, ...], state: dict[str, object]
) -> MlregFramesError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class PagesError(MlregFramesError):
    """A page file, folder or glob could not be read as ARM list pages.

    Attributes:
        path: the file (or pattern) that failed.
        line: the 1-based line for NDJSON input, else ``None``.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


class FlattenError(MlregFramesError):
    """A registry payload is structurally broken (not just incomplete).

    Missing or null values never raise; a value of the wrong *shape* does (a page whose
    ``value`` is not a list, a registry that is not an object or has no ``id``, a
    ``regionDetails`` that is not a list).

    Attributes:
        page: where the page came from (file name and index, URL, or ``"page 3"``).
        registry: the registry's ARM id or its position when it has none.
        field: the JSON path of the offending field, e.g. ``properties.regionDetails``.
    """

    def __init__(
        self,
        message: str,
        *,
        page: str | None = None,
        registry: str | None = None,
        field: str | None = None,
    ):
        where = ", ".join(
            part
            for part in (
                f"page {page}" if page else "",
                f"registry {registry}" if registry else "",
                f"field {field}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.page = page
        self.registry = registry
        self.field = field


class SchemaError(MlregFramesError):
    """A table does not match the declared schema (missing column, wrong type, broken key).

    Attributes:
        table: the table name.
        column: the offending column, when one is to blame.
    """

    def __init__(self, message: str, *, table: str | None = None, column: str | None = None):
        super().__init__(message)
        self.table = table
        self.column = column


class InvalidArgumentError(MlregFramesError, ValueError):
    """An argument is out of range or of the wrong type; raised before any work starts.

    Also a ``ValueError``, so code that validates arguments the usual way catches it.

    Attributes:
        argument: the parameter's name (``max_attempts``, ``subscription_ids``...).
    """

    def __init__(self, message: str, *, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


class FetchError(MlregFramesError):
    """Reading registries from Azure Resource Manager failed.

    Attributes:
        url: the request URL (never carries a token).
        scope: the ARM scope being listed, e.g. ``/subscriptions/<id>``.
        code: a short error code for ``fetch_errors.error_code`` (``ContentDecodingError``,
            ``MaxPagesExceeded``...), or ``None`` to use the cause's class name.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        scope: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.url = url
        self.scope = scope
        self.code = code


class ArmError(FetchError):
    """ARM answered with an error status (an ``ErrorResponse`` body when it sent one).

    Attributes:
        status: the HTTP status code.
        code: the ARM error code (``AuthorizationFailed``, ``SubscriptionNotFound``...).
        arm_message: ARM's own message text.
        target: ARM's ``target`` field, if any.
        request_id: the ``x-ms-request-id`` header, for Azure support.
        subscription_id, resource_group: the scope's parts, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        arm_message: str | None = None,
        target: str | None = None,
        request_id: str | None = None,
        url: str | None = None,
        scope: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ):
        super().__init__(message, url=url, scope=scope, code=code)
        self.status = status
        self.arm_message = arm_message
        self.target = target
        self.request_id = request_id
        self.subscription_id = subscription_id
        self.resource_group = resource_group


class InsecureEndpointError(FetchError):
    """A bearer token would be sent to a host or over a scheme it must never reach."""


class LimitExceededError(FetchError):
    """A server made a fetch go past one of its limits (pages, bytes, time).

    Attributes:
        limit: the limit's keyword (``max_pages``, ``max_page_bytes``, ``request_timeout``).
        code: ``MaxPagesExceeded``, ``PageTooLarge`` or ``RequestDeadlineExceeded``.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        limit: str,
        url: str | None = None,
        scope: str | None = None,
    ):
        super().__init__(message, url=url, scope=scope, code=code)
        self.limit = limit


class PaginationError(FetchError):
    """Following ``nextLink`` went wrong: a link seen twice, or a link that is not a URL."""


class LakeError(MlregFramesError):
    """A snapshot lake could not be written or read.

    Attributes:
        root: the lake root (a path or fsspec URL).
        snapshot: the snapshot involved, when one is.
    """

    def __init__(self, message: str, *, root: str | None = None, snapshot: str | None = None):
        super().__init__(message)
        self.root = root
        self.snapshot = snapshot


class CostExportError(MlregFramesError):
    """A cost export could not be read (unknown columns, unreadable file).

    Attributes:
        path: the file that failed.
    """

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.path = path
