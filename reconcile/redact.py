"""Keeping secrets out of everything the tool shows or writes: one place for both masks.

- `mask_values`: the structured mask. Plans, saved plans, reports and config digests show a
  sensitive field as the `${env:NAME}` it came from, or as `MASK`.
- `Redactor`: the free-text mask. Every secret value the run has seen (the API key, each
  sensitive value sent in a request or returned by the API, each secret the config
  declares) is registered once; any text that can reach a terminal, a log, an event
  stream or a file (API error messages above all: a server may echo the request body) goes
  through it and comes out with each of them blanked as `REDACTED`.

`RUN_SECRETS` is the redactor of the current process: the CLI feeds it and applies it at
its edges, and gives it to the API client; a library caller's client gets its own.

Imports nothing internal.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

#: A sensitive field's value in plans, reports and digests.
MASK = "(sensitive)"

#: A secret found inside free text (an error message, a log line).
REDACTED = "***"

#: Values shorter than this are not registered as secrets: blanking "on" or "1" everywhere
#: would garble messages, and no secret the API issues or accepts is that short (webhook
#: secrets are at least 8 characters, key secrets far longer).
MIN_SECRET_LENGTH = 8


def mask_values(values: Mapping[str, Any], sensitive: Iterable[str],
                refs: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`values` with each sensitive, non-null value replaced by `${env:NAME}` (when `refs`
    names the variable it came from) or `MASK`; a new dict."""
    sensitive = sensitive if isinstance(sensitive, (set, frozenset)) else frozenset(sensitive)
    return {k: ((f"${{env:{refs[k]}}}" if refs and k in refs else MASK) if k in sensitive and v is not None else v)
            for k, v in values.items()}


class Redactor:
    """The secrets seen so far, and `redact(text)` that blanks them. Thread-safe.

    Adding is cheap (a set insert); redacting is one compiled alternation over every
    secret, longest first, rebuilt only after an addition. It runs on error paths, not per
    request.
    """

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def __len__(self) -> int:
        return len(self._secrets)

    def __contains__(self, value: object) -> bool:
        return value in self._secrets

    def add(self, value: Any) -> None:
        """Register one secret (ignored unless a string of `MIN_SECRET_LENGTH` or more)."""
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value not in self._secrets:
            with self._lock:
                self._secrets.add(value)
                self._pattern = None

    def add_fields(self, data: Any, names: frozenset[str]) -> None:
        """Register every string under a key in `names`, anywhere in JSON-like `data`."""
        if isinstance(data, dict):
            if not names.isdisjoint(data):
                for name in names.intersection(data):
                    self.add(data[name])
            for value in data.values():
                if isinstance(value, (dict, list)):
                    self.add_fields(value, names)
        elif isinstance(data, list):
            for value in data:
                if isinstance(value, (dict, list)):
                    self.add_fields(value, names)

    def redact(self, text: str) -> str:
        """`text` with every registered secret replaced by `REDACTED`."""
        if not self._secrets or not text:
            return text
        pattern = self._pattern
        if pattern is None:
            with self._lock:
                ordered = sorted(self._secrets, key=len, reverse=True)
                pattern = self._pattern = re.compile("|".join(map(re.escape, ordered)))
        return pattern.sub(REDACTED, text)

    __call__ = redact

    def redact_data(self, data: Any) -> Any:
        """JSON-like `data` with every string redacted (a copy; other values as they are)."""
        if not self._secrets:
            return data
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {k: self.redact_data(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.redact_data(v) for v in data]
        return data


class RedactingFilter:
    """A logging filter that blanks the redactor's secrets in each record (message,
    arguments and traceback), for handlers that write where a user or a file sees it.

    Not a `logging.Filter` subclass: a handler takes any object with a `filter(record)`
    method, and this module must not import logging (a `validate` never loads it)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if len(self.redactor):
            record.msg, record.args = self.redactor.redact(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                import logging  # loaded already: the record came from it

                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self.redactor.redact(record.exc_text)
        return True


#: The secrets this process has seen (the CLI's run).
RUN_SECRETS = Redactor()
