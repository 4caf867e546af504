"""SSRF rules for webhook URLs: a webhook must point at a public https endpoint.

The emulator calls `validate_webhook_url` on `webhooks.register`/`webhooks.update` (a failure
is a 400 `UNSAFE_URL` on field `url`) and may call it again before each delivery. The rules
follow what a real multi-tenant service must enforce so that a customer cannot make it call
its own network:

- scheme `https` (a host in `allow_hosts` may also use `http`: that is how tests allow a
  loopback receiver), no userinfo (`user:pass@`), a valid port, no percent-encoded host;
- an IP-literal host must be globally routable. Numeric hosts are parsed the way
  `inet_aton(3)` (and therefore most HTTP stacks) would: `2130706433`, `0177.0.0.1`,
  `0x7f.1`, `127.1` all mean 127.0.0.1. IPv6 forms that carry an IPv4 address
  (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`,
  6to4 `2002::/16`) are judged by the IPv4 address they carry;
- a host name must be syntactically valid, fully qualified and not a name reserved for
  local use (`localhost`, `*.localhost`, `*.local`, `*.internal` incl.
  `metadata.google.internal`, single-label names such as `metadata`, ...). Trailing dots
  and upper case are normalised first so they cannot be used to dodge the list;
- a non-ASCII host is mapped by IDNA/UTS-46 (what browsers and URL parsers do) *before*
  any of these checks, so no Unicode spelling of an address or a name escapes them:
  ideographic or full-width full stops (`127。0。0。1`), full-width or mathematical digits
  (`１２７.０.０.１`), enclosed letters (`ⓛⓞⓒⓐⓛⓗⓞⓢⓣ`); a host that does not map is rejected;
- names are resolved only when `resolve_hosts=True` (then every address must be public).
  The default never resolves: the emulator runs offline and must not send DNS traffic,
  so a public-looking name is accepted on syntax alone.

Imports: the standard library (`ipaddress`, `urllib.parse`, `socket`) and `idna` (the
UTS-46 mapping; a dependency of httpx); nothing else from the project.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

import idna

__all__ = ["UnsafeUrlError", "validate_webhook_url"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ADVICE = "webhooks must point at a public https endpoint"
MAX_URL_LENGTH = 2048

# Checked in order, so the more specific label wins (metadata before link-local,
# broadcast before reserved). Anything not listed is still rejected unless `is_global`.
_V4_NETWORKS: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), label)
    for net, label in (
        ("0.0.0.0/8", "a 'this network' (0.0.0.0/8) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private (RFC 1918) address"),
        ("172.16.0.0/12", "a private (RFC 1918) address"),
        ("192.168.0.0/16", "a private (RFC 1918) address"),
        ("100.64.0.0/10", "a carrier-grade NAT (100.64.0.0/10) address"),
        ("169.254.169.254/32", "the cloud metadata address"),
        ("169.254.0.0/16", "a link-local address"),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)
_V6_NETWORKS: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), label)
    for net, label in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("fc00::/7", "a unique local (private) address"),
        ("ff00::/8", "a multicast address"),
        ("2001:db8::/32", "a documentation address"),
        ("100::/64", "a discard-only address"),
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

# Suffixes (and whole names) that only ever resolve inside someone's own network.
_LOCAL_SUFFIXES = (
    "localhost",
    "localdomain",
    "local",
    "internal",
    "intranet",
    "private",
    "corp",
    "home",
    "lan",
    "home.arpa",
    "arpa",
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# One inet_aton part: hex (0x..., digits optional), octal (leading 0) or decimal.
_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class UnsafeUrlError(ValueError):
    """A webhook URL that must not be called; `str(err)` is the user-facing reason."""


def validate_webhook_url(
    url: str,
    *,
    allow_hosts: Collection[str] = (),
    resolve_hosts: bool = False,
) -> None:
    """Raise `UnsafeUrlError` unless `url` is a public https endpoint.

    `allow_hosts` names hosts (names or IP literals, compared after normalisation) that
    are trusted as-is, with `http` or `https`. `resolve_hosts=True` resolves host names and
    rejects them if any address is not public; the default never touches the network.
    """
    if not isinstance(url, str):
        raise UnsafeUrlError("url must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"url is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeUrlError("url contains whitespace or control characters")
    if "\\" in url:
        raise UnsafeUrlError("url contains a backslash; " + _ADVICE)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError(f"url is malformed ({exc}); {_ADVICE}") from None

    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise UnsafeUrlError(f"url must be an absolute https URL; {_ADVICE}")
    if "@" in parts.netloc:
        raise UnsafeUrlError(f"url must not contain credentials (user@host); {_ADVICE}")
    raw_host = parts.hostname or ""
    if "%" in raw_host:
        raise UnsafeUrlError(f"url host {raw_host} is percent-encoded; {_ADVICE}")
    if not raw_host:
        raise UnsafeUrlError(f"url has no host; {_ADVICE}")
    if port == 0:
        raise UnsafeUrlError(f"url port 0 is not a valid port; {_ADVICE}")

    host = _normalise_host(raw_host)
    if host in {_normalise_host(h) for h in allow_hosts}:
        return  # Trusted explicitly (a test receiver): http is fine, no address rules.
    if scheme != "https":
        raise UnsafeUrlError(f"url scheme must be https, not {scheme}; {_ADVICE}")

    address = _parse_ip_literal(host)
    if address is not None:
        _check_address(raw_host, address)
        return
    _check_name(raw_host, host)
    if resolve_hosts:
        _check_resolved(raw_host, host, port or 443)


def _normalise_host(host: str) -> str:
    """Lower-case ASCII (UTS-46 mapped, then A-labels, if it was not ASCII), without brackets
    and one trailing dot (`EXAMPLE.com.` is `example.com`, `１２７。０。０。１` is `127.0.0.1`)."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host.isascii():
        try:
            host = idna.uts46_remap(host, std3_rules=True, transitional=False)
            if not host.isascii():
                host = ".".join(label if label.isascii() else idna.encode(label).decode("ascii")
                                for label in host.split("."))
        except (idna.IDNAError, UnicodeError, ValueError):
            raise UnsafeUrlError(f"url host {host} is not a valid host name; {_ADVICE}") from None
    return host[:-1] if host.endswith(".") and not host.endswith("..") else host


def _parse_ip_literal(host: str) -> IPAddress | None:
    """The address a numeric host denotes, None for a host name.

    A host whose last label is numeric is an IPv4 attempt (as in the WHATWG URL parser):
    if it does not parse the way inet_aton would, it is rejected rather than treated as a
    name, since some stack along the way might still read it as an address.
    """
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeUrlError(f"url host {host} is not a valid IPv6 address; {_ADVICE}") from None
    labels = host.split(".")
    if not _NUMERIC_PART.match(labels[-1]):
        return None
    value = _inet_aton(labels)
    if value is None:
        raise UnsafeUrlError(f"url host {host} is a malformed numeric address; {_ADVICE}")
    return ipaddress.IPv4Address(value)


def _inet_aton(parts: list[str]) -> int | None:
    """inet_aton(3): 1-4 parts, each decimal/octal/hex; the last fills the remaining bytes."""
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if not _NUMERIC_PART.match(part):
            return None
        try:
            if part.startswith("0x"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:  # e.g. "08": not octal
            return None
    *leading, last = numbers
    if any(n > 0xFF for n in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = 0
    for n in leading:
        value = value << 8 | n
    return value << (8 * (4 - len(leading))) | last


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 transition form carries, with the form's name."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "IPv4-compatible"
    return None


def _non_public_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner, form = embedded
            reason = _non_public_reason(inner)
            return None if reason is None else f"the {form} form of {inner}, {reason}"
        networks: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = _V6_NETWORKS
    else:
        networks = _V4_NETWORKS
    for network, label in networks:
        if address in network:
            return label
    # Python's own registry catches the remaining special-purpose blocks.
    if not address.is_global or address.is_reserved:
        return "not a public address"
    return None


def _check_address(shown: str, address: IPAddress) -> None:
    reason = _non_public_reason(address)
    if reason is not None:
        canonical = "" if str(address) == shown else f" ({address})"
        raise UnsafeUrlError(f"url host {shown}{canonical} is {reason}; {_ADVICE}")


def _check_name(shown: str, host: str) -> None:
    """Syntax (LDH labels, IDNA for non-ASCII) and the names reserved for local use."""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UnsafeUrlError(f"url host {shown} is not a valid host name; {_ADVICE}") from None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UnsafeUrlError(f"url host {shown} is not a valid host name; {_ADVICE}")
    for suffix in _LOCAL_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            raise UnsafeUrlError(f"url host {shown} is a local-only name (.{suffix}); {_ADVICE}")
    if len(labels) == 1:
        raise UnsafeUrlError(
            f"url host {shown} is a single-label name that only resolves on a local network; {_ADVICE}"
        )


def _check_resolved(shown: str, host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrlError(f"url host {shown} does not resolve ({exc}); {_ADVICE}") from None
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        reason = _non_public_reason(address)
        if reason is not None:
            raise UnsafeUrlError(f"url host {shown} resolves to {address}, {reason}; {_ADVICE}")
