"""The webhook URL SSRF rules (reconcile/emulator/ssrf.py)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from reconcile.emulator.ssrf import UnsafeUrlError, validate_webhook_url

# (url, a fragment the reason must contain)
HOSTILE = [
    ("http://example.com/hook", "scheme must be https"),
    ("ftp://example.com/hook", "absolute https URL"),
    ("//example.com/hook", "absolute https URL"),
    ("https:///hook", "absolute https URL"),
    ("https://user:pw@example.com/", "credentials"),
    ("https://example.com@127.0.0.1/", "credentials"),
    ("https://example.com:0/", "port 0"),
    ("https://example.com:99999/", "malformed"),
    ("https://example.com:abc/", "malformed"),
    ("https://127.0.0.1/x", "127.0.0.1 is a loopback address"),
    ("https://127.255.255.254/", "loopback"),
    ("https://localhost/", "local-only name"),
    ("https://LOCALHOST./", "local-only name"),
    ("https://api.localhost/", "local-only name"),
    ("https://printer.local/", "local-only name"),
    ("https://db.internal/", "local-only name"),
    ("https://metadata.google.internal/computeMetadata/v1/", "local-only name"),
    ("https://METADATA.Google.Internal./", "local-only name"),
    ("https://metadata/", "single-label"),
    ("https://intranet-host/", "single-label"),
    ("https://10.0.0.1/", "private (RFC 1918)"),
    ("https://172.16.5.4/", "private (RFC 1918)"),
    ("https://192.168.1.1/", "private (RFC 1918)"),
    ("https://100.64.0.1/", "carrier-grade NAT"),
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://169.254.1.1/", "link-local"),
    ("https://0.0.0.0/", "this network"),
    ("https://0/", "this network"),
    ("https://224.0.0.1/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "broadcast"),
    ("https://192.0.2.10/", "documentation"),
    ("https://2130706433/", "(127.0.0.1) is a loopback"),
    ("https://0177.0.0.1/", "(127.0.0.1) is a loopback"),
    ("https://0x7f.1/", "(127.0.0.1) is a loopback"),
    ("https://0x7f000001/", "(127.0.0.1) is a loopback"),
    ("https://127.1/", "(127.0.0.1) is a loopback"),
    ("https://127.0.1/", "(127.0.0.1) is a loopback"),
    ("https://0x7f.0.0.01/", "(127.0.0.1) is a loopback"),
    ("https://012.0x0.0.1/", "(10.0.0.1) is a private"),
    ("https://3232235777/", "(192.168.1.1) is a private"),
    ("https://08.1.1.1/", "malformed numeric"),
    ("https://1.2.3.4.5/", "malformed numeric"),
    ("https://256.1.1.1/", "malformed numeric"),
    ("https://4294967296/", "malformed numeric"),
    ("https://[::1]/", "loopback"),
    ("https://[::]/", "unspecified"),
    ("https://[fc00::1]/", "unique local"),
    ("https://[fd12:3456::1]/", "unique local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[fec0::1]/", "site-local"),
    ("https://[ff02::1]/", "multicast"),
    ("https://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1"),
    ("https://[::ffff:a9fe:a9fe]/", "IPv4-mapped form of 169.254.169.254"),
    ("https://[::127.0.0.1]/", "IPv4-compatible form of 127.0.0.1"),
    ("https://[64:ff9b::a00:1]/", "NAT64 form of 10.0.0.1"),
    ("https://[64:ff9b::7f00:1]/", "NAT64 form of 127.0.0.1"),
    ("https://[2002:c0a8:101::1]/", "6to4 form of 192.168.1.1"),
    ("https://[2002:7f00:1::]/", "6to4 form of 127.0.0.1"),
    ("https://[fe80::1%25eth0]/", "percent-encoded"),
    ("https://%6c%6f%63%61%6c%68%6f%73%74/", "percent-encoded"),
    ("https://127.0.0.1%2f@example.com/", "credentials"),
    ("https://[::1/", "malformed"),
    ("https://exa mple.com/", "whitespace"),
    ("https://example.com\\@127.0.0.1/", "backslash"),
    ("https://under_score.example.com/", "not a valid host name"),
    ("https://-bad.example.com/", "not a valid host name"),
    ("https://a..example.com/", "not a valid host name"),
    ("https://foo.123/", "malformed numeric"),
    ("https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "local-only name"),
    # Unicode spellings, mapped by IDNA/UTS-46 before the checks (as URL parsers would).
    ("https://127。0。0。1/x", "(127.0.0.1) is a loopback"),  # ideographic full stops
    ("https://１２７.０.０.１/x", "(127.0.0.1) is a loopback"),  # full-width digits
    ("https://１２７．０．０．１/", "(127.0.0.1) is a loopback"),  # full-width digits and stops
    ("https://127｡0｡0｡1/", "(127.0.0.1) is a loopback"),  # halfwidth ideographic full stops
    ("https://𝟏𝟐𝟕.0.0.1/", "(127.0.0.1) is a loopback"),  # mathematical bold digits
    ("https://１０.０.０.１/", "(10.0.0.1) is a private"),
    ("https://１９２。１６８。１。１/", "(192.168.1.1) is a private"),
    ("https://１６９.２５４.１６９.２５４/latest/meta-data/", "(169.254.169.254) is the cloud metadata"),
    ("https://０ｘ７ｆ.１/", "(127.0.0.1) is a loopback"),  # full-width hex inet_aton form
    ("https://２１３０７０６４３３/", "(127.0.0.1) is a loopback"),  # full-width single number
    ("https://０/", "this network"),
    ("https://ＬＯＣＡＬＨＯＳＴ/", "local-only name"),
    ("https://localhost。/", "local-only name"),
    ("https://metadata。google。internal/", "local-only name"),
    ("https://ｍｅｔａｄａｔａ/", "single-label"),
    ("https://printer．local/", "local-only name"),
    ("https://\U0001f4a9.example/", "not a valid host name"),  # maps, but no IDNA label
    ("https://127.0.0.1\u2488example.com/", "not a valid host name"),  # "⒈" is not a STD3 character
    ("https://example.com/" + "a" * 2100, "longer than"),
]

GOOD = [
    "https://example.com/hook",
    "https://hooks.example.com:8443/infrai?x=1#frag",
    "https://EXAMPLE.com./hook",
    "https://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://[64:ff9b::808:808]/hook",  # NAT64 of a public address
    "https://[2002:808:808::1]/hook",  # 6to4 of a public address
    "https://bücher.example/hook",  # IDNA
    "https://８.８.８.８/hook",  # full-width digits of a public address
    "https://ｅｘａｍｐｌｅ。com/hook",  # full-width letters, ideographic full stop
]


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default must never resolve: any lookup fails the test."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"getaddrinfo called with {args}")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)


def test_enough_hostile_cases() -> None:
    assert len(HOSTILE) >= 25


@pytest.mark.parametrize(("url", "reason"), HOSTILE)
def test_hostile_urls_are_rejected(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError) as info:
        validate_webhook_url(url)
    message = str(info.value)
    assert reason in message
    assert isinstance(info.value, ValueError)


def test_message_says_what_is_wrong() -> None:
    with pytest.raises(UnsafeUrlError) as info:
        validate_webhook_url("https://127.0.0.1/x")
    assert str(info.value) == (
        "url host 127.0.0.1 is a loopback address; webhooks must point at a public https endpoint"
    )


@pytest.mark.parametrize("url", GOOD)
def test_public_https_urls_are_accepted(url: str) -> None:
    validate_webhook_url(url)


def test_non_string_is_rejected() -> None:
    with pytest.raises(UnsafeUrlError, match="must be a string"):
        validate_webhook_url(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://127.0.0.1:8123/hook", ["127.0.0.1"]),
        ("https://127.0.0.1:8123/hook", ["127.0.0.1"]),
        ("http://[::1]:8123/hook", ["::1"]),
        ("http://[::1]:8123/hook", ["[::1]"]),
        ("http://LocalHost.:9000/", ["localhost"]),
    ],
)
def test_allow_list_admits_test_receivers(url: str, allow: list[str]) -> None:
    validate_webhook_url(url, allow_hosts=allow)


def test_unicode_spellings_are_judged_by_what_they_map_to() -> None:
    with pytest.raises(UnsafeUrlError) as info:
        validate_webhook_url("https://127。0。0。1/x")
    assert "(127.0.0.1) is a loopback address" in str(info.value)
    validate_webhook_url("http://ｌｏｃａｌｈｏｓｔ:9000/", allow_hosts=["localhost"])


def test_allow_list_is_exact() -> None:
    with pytest.raises(UnsafeUrlError, match="loopback"):
        validate_webhook_url("https://127.0.0.2/", allow_hosts=["127.0.0.1"])
    with pytest.raises(UnsafeUrlError, match="scheme"):
        validate_webhook_url("http://example.com/", allow_hosts=["127.0.0.1"])
    with pytest.raises(UnsafeUrlError, match="credentials"):
        validate_webhook_url("http://u@127.0.0.1/", allow_hosts=["127.0.0.1"])


def _fake_getaddrinfo(answers: dict[str, list[str]]) -> Any:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    return getaddrinfo


def test_resolve_rejects_if_any_address_is_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        _fake_getaddrinfo({"rebind.example.com": ["93.184.215.14", "10.1.2.3"], "ok.example.com": ["93.184.215.14", "2606:2800::1"]}),
    )
    with pytest.raises(UnsafeUrlError, match=r"resolves to 10\.1\.2\.3, a private"):
        validate_webhook_url("https://rebind.example.com/", resolve_hosts=True)
    validate_webhook_url("https://ok.example.com/", resolve_hosts=True)
    with pytest.raises(UnsafeUrlError, match="does not resolve"):
        validate_webhook_url("https://nxdomain.example.com/", resolve_hosts=True)


def test_resolve_skips_ip_literals_and_allowed_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    # no_dns is still in force: neither case may look anything up.
    validate_webhook_url("https://8.8.8.8/", resolve_hosts=True)
    validate_webhook_url("http://127.0.0.1:1/", resolve_hosts=True, allow_hosts=["127.0.0.1"])
