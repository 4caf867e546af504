"""Every error the reconciler raises on purpose; imports nothing internal.

    ReconcileError
     ├── ConfigError(source)            bad YAML, schema or reference; carries file:line:col
     │    └── ValidationError(reasons)  several problems gathered, reported at once
     ├── KindDefinitionError            a kind in the registry is inconsistent (our bug)
     ├── ApiError(method, url)          talking to the Infrai API failed
     │    ├── TransportError            no HTTP answer (connect, timeout, dropped)
     │    ├── MalformedResponse         a 2xx answer not in the documented shape
     │    ├── ResponseTooLarge          an answer past --max-response-mib
     │    ├── ListTooLong               a list past --max-list-items / --max-list-pages
     │    └── ApiStatusError(status, code, body)
     │         ├── Unauthenticated (401), Forbidden (403), PaymentRequired (402)
     │         ├── NotFound (404), Conflict (409), Unprocessable (422)
     │         └── RateLimited (429), ServerError (5xx)
     ├── UnknownTarget                  a --target that names nothing, with close matches
     ├── UnsafePlan                     a plan the safety rules refuse
     │    ├── TooMuchChange             past the delete/replace threshold: pass --force
     │    ├── ProtectedDelete           destroys a resource marked `protect: true`
     │    └── OwnershipConflict         declares objects another stack (or no stack) owns
     ├── PolicyViolation(violations)   the plan breaks a `--policy` rule (exit code 3)
     ├── ImpactAboveThreshold           an impact at or above `--fail-on` (exit code 4)
     ├── StalePlan                      a saved plan whose live state has moved on
     ├── LeaseHeld                      another apply holds the account lease
     ├── PlanFileError                  a saved plan file that cannot be used
     ├── UsageError                     options that cannot go together, a request missing a part (exit 1)
     ├── ApplyError(result)             an apply that did not finish; its result says what did
     │    └── ApplyInterrupted          stopped by Ctrl-C/SIGTERM after the steps in flight (exit 130)
     ├── StopApply                      a step not started because apply must not go on
     ├── SecretSinkError                a secret sink failed (the secret is kept, 0600)
     └── JournalError                   the crash journal cannot be used (e.g. locked)

Messages name the object, the numbers and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ReconcileError(Exception):
    """Base of every error the tool reports to a user (never with a traceback)."""

    exit_code = 1


@dataclass(frozen=True)
class SourcePosition:
    """Where in a config file something is: 1-based line and column; `end_line`, the last
    line of a value that spans several (a resource's mapping), when known."""

    file: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Reason:
    """One problem found in a config: where, at which path, and what is wrong."""

    message: str
    source: SourcePosition | None = None
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        at = f"{self.path}: " if self.path else ""
        return f"{where}{at}{self.message}"


class ConfigError(ReconcileError):
    def __init__(self, message: str, source: SourcePosition | None = None, path: str = ""):
        self.reason = Reason(message, source, path)
        self.source = source
        super().__init__(str(self.reason))


class ValidationError(ConfigError):
    """All the problems of a config at once, each with its location."""

    def __init__(self, reasons: list[Reason]):
        self.reasons = list(reasons)
        first = self.reasons[0] if self.reasons else Reason("invalid configuration")
        ReconcileError.__init__(self, self._format())
        self.reason = first
        self.source = first.source

    def _format(self) -> str:
        n = len(self.reasons)
        head = f"{n} error{'s' if n != 1 else ''} in configuration:"
        return "\n".join([head] + [f"  {r}" for r in self.reasons])


class KindDefinitionError(ReconcileError):
    """A kind in the registry contradicts itself. This is a bug in infrai-reconcile."""


class ApiError(ReconcileError):
    def __init__(self, message: str, method: str = "", url: str = ""):
        self.method = method
        self.url = url
        super().__init__(message)


class TransportError(ApiError):
    """No HTTP answer: connection refused or dropped, or a timeout."""


class MalformedResponse(ApiError):
    """A 2xx answer that is not what the API documents: not JSON, or not the shape of the
    endpoint (a list page without `items`, an item that is not an object...)."""


class ResponseTooLarge(ApiError):
    """An answer larger than the client accepts (decoded size); it stopped reading."""


class ListTooLong(ApiError):
    """A list with more items or pages than the client accepts; it stopped walking it."""


class ApiStatusError(ApiError):
    hint = ""

    def __init__(self, status: int, code: str, message: str, method: str = "", url: str = "",
                 body: Any = None, field: str | None = None):
        self.status = status
        self.code = code
        self.api_message = message
        self.body = body
        self.field = field
        text = f"{method} {url} failed: HTTP {status} {code}: {message}"
        if field:
            text += f" (field {field})"
        if self.hint:
            text += f". {self.hint}"
        super().__init__(text, method, url)


class Unauthenticated(ApiStatusError):
    hint = "Check INFRAI_API_KEY: the key is missing, unknown, revoked or past its rotation grace period"


class Forbidden(ApiStatusError):
    hint = "The API key lacks the scope this call needs; use a key with wider scopes"


class PaymentRequired(ApiStatusError):
    hint = "Top up the wallet (POST /v1/account/topup) or raise the budget's hard cap"


class NotFound(ApiStatusError):
    hint = "The object no longer exists; run plan again to see the current state"


class Conflict(ApiStatusError):
    hint = "The account changed under this operation; run plan again"


class Unprocessable(ApiStatusError):
    pass


class RateLimited(ApiStatusError):
    hint = "Rate limited; lower --parallelism or try again later"


class ServerError(ApiStatusError):
    hint = "The API failed; the call is safe to retry with the same idempotency key"
    read_hint = "The API failed; the request only reads, so it is safe to retry: run the command again"

    def __init__(self, status: int, code: str, message: str, method: str = "", url: str = "",
                 body: Any = None, field: str | None = None):
        if method in ("GET", "HEAD", "OPTIONS"):
            self.hint = self.read_hint  # no idempotency key involved: a read changes nothing
        super().__init__(status, code, message, method, url, body, field)


STATUS_ERRORS: dict[int, type[ApiStatusError]] = {
    401: Unauthenticated,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    429: RateLimited,
}


def status_error_class(status: int) -> type[ApiStatusError]:
    if status >= 500:
        return ServerError
    return STATUS_ERRORS.get(status, ApiStatusError)


class UnsafePlan(ReconcileError):
    exit_code = 1


class TooMuchChange(UnsafePlan):
    pass


class LeaseHeld(ReconcileError):
    """Another apply holds the account lease (apply/lease.py): nothing was changed."""


class ProtectedDelete(UnsafePlan):
    pass


class PolicyViolation(ReconcileError):
    """The plan breaks policy rules; nothing was applied. `violations` lists them all."""

    exit_code = 3

    def __init__(self, message: str, violations: Any = ()):
        self.violations = list(violations)
        super().__init__(message)


class ImpactAboveThreshold(ReconcileError):
    """An impact of the plan is at or above `--fail-on`; nothing was applied."""

    exit_code = 4


class StalePlan(ReconcileError):
    pass


class PlanFileError(ReconcileError):
    pass


class UsageError(ReconcileError):
    """Options that cannot be combined, or a request missing what it needs (exit 1, like
    the CLI's own usage errors)."""

    exit_code = 1


class ApplyError(ReconcileError):
    """Raised by `reconcile.workflow.run.apply` (and `adopt`) when a step failed or never ran:
    `result` is what was done (an ApplyResult; adopt's is its ApplyReport), `report` the
    steps' ApplyReport either way."""

    def __init__(self, message: str, result: Any = None):
        self.result = result
        self.report = getattr(result, "report", result)
        super().__init__(message)


class ApplyInterrupted(ApplyError):
    """Ctrl-C or SIGTERM: the steps in flight finished, no new one started."""

    exit_code = 130


class UnknownTarget(ReconcileError):
    pass


class OwnershipConflict(UnsafePlan):
    """A declared object belongs to another stack, or to none."""


class StopApply(ReconcileError):
    """Raised inside a step when apply must not go on (a secret sink failed)."""


class SecretSinkError(ReconcileError):
    pass


class JournalError(ReconcileError):
    pass
