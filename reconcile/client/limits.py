"""How much time and memory the client gives any one server: the bounds a proxy, a buggy API
or an attacker cannot push it past. Pure data; docs/network.md explains each default.

Where the defaults come from (docs/emulator.md, "Pagination" and "tier limits"):
- A list page holds at most `MAX_PAGE_SIZE` (1,000) items; the API's default page is
  `DEFAULT_PAGE_SIZE` (100).
- The largest tier (enterprise) allows 1,000 projects, 1,000 keys per project, 100 webhooks
  and 500 members; team 200 projects x 200 keys. `keys.list` is not paginated, so one
  answer holds every key of the account.
- `max_list_items` (100,000): 100x the largest paginated list the tiers allow (1,000
  projects), 10x the 10,000-resource benchmark, every key of a team-tier account at its
  limits (40,000) with room to spare. An enterprise account with more keys than that
  raises it.
- `max_list_pages` (1,000): enough for `max_list_items` even from a server that ignores our
  `limit` and sends its default page of 100.
- `max_response_bytes` (64 MiB, decoded): a full page is well under 1 MiB; `keys.list` at
  `max_list_items` keys of about 300 bytes is about 30 MB.
- `timeout` (15 s) bounds one attempt as a whole (connect, send, every byte of the answer),
  not the gap between two bytes: a server dripping a byte a second is cut off too.
  `connect_timeout` (5 s) bounds making the connection within it.

Imports nothing internal.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The largest `limit` the API accepts on a list.
MAX_PAGE_SIZE = 1000

#: The page size the API uses when no `limit` is sent.
DEFAULT_PAGE_SIZE = 100

MIB = 1024 * 1024


@dataclass(frozen=True)
class ClientLimits:
    timeout: float = 15.0
    """Seconds one attempt may take in total, from connecting to the last byte of the answer."""
    connect_timeout: float = 5.0
    """Seconds to establish the connection (within `timeout`)."""
    max_response_bytes: int = 64 * MIB
    """Largest answer body accepted, after decoding (gzip included)."""
    max_list_items: int = 100_000
    """Most items one list may return, over all its pages."""
    max_list_pages: int = 1_000
    """Most pages one list walk may take."""

    def __post_init__(self) -> None:
        if not self.timeout > 0 or not self.connect_timeout > 0:
            raise ValueError("timeouts must be positive")
        for name in ("max_response_bytes", "max_list_items", "max_list_pages"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
