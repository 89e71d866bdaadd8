"""Which callback addresses may be called (SSRF), by policy: the pure checks, no network."""

from __future__ import annotations

import pytest

from trainerday_server.errors import ValidationFailed
from trainerday_server.webhooks.urls import Policy, UnsafeCallback, check_url, resolve

STRICT = Policy()
LOCAL = Policy(allow_http=True)
LAN = Policy(allow_private=True)


@pytest.mark.parametrize(
    ("url", "policy", "allowed"),
    [
        ("https://93.184.215.14/hook", STRICT, True),
        ("https://[2606:4700::1111]/hook", STRICT, True),
        ("http://93.184.215.14/hook", STRICT, False),  # plain http
        ("https://127.0.0.1/hook", STRICT, False),
        ("https://127.0.0.1/hook", LOCAL, True),
        ("http://[::1]:8080/hook", LOCAL, True),
        ("http://93.184.215.14/hook", LOCAL, False),  # plain http over a network, even when allowed
        ("http://10.0.0.1/hook", Policy(allow_http=True, allow_private=True), False),
        ("https://93.184.215.14/hook", LOCAL, True),
        ("https://[::ffff:127.0.0.1]/hook", STRICT, False),  # loopback in IPv4-mapped clothing
        ("https://[::ffff:10.0.0.1]/hook", STRICT, False),
        ("https://10.1.2.3/hook", STRICT, False),
        ("https://10.1.2.3/hook", LAN, True),
        ("https://172.16.0.1/hook", STRICT, False),
        ("https://192.168.0.1/hook", LOCAL, False),  # allowing http is not allowing the LAN
        ("https://100.64.0.1/hook", STRICT, False),  # carrier-grade NAT
        ("https://[fd12::1]/hook", STRICT, False),
        ("https://169.254.169.254/latest", LAN, False),  # metadata, whatever is allowed
        ("https://169.254.169.254/latest", LOCAL, False),
        ("https://[fd00:ec2::254]/latest", LAN, False),
        ("https://169.254.1.1/hook", LAN, False),  # link-local
        ("https://224.0.0.1/hook", STRICT, False),
        ("https://0.0.0.0/hook", LOCAL, False),
        ("https://255.255.255.255/hook", STRICT, False),
    ],
)
def test_addresses(url: str, policy: Policy, allowed: bool):
    if allowed:
        assert resolve(url, policy).url == url
        assert check_url(url, policy) == url
    else:
        with pytest.raises(UnsafeCallback):
            resolve(url, policy)
        with pytest.raises(ValidationFailed):
            check_url(url, policy)


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://user@example.com/hook",
        "https://example.com:99999/hook",
        "https:///hook",
        "javascript:alert(1)",
        "https://exa\u0000mple.com/",
        "",
    ],
)
def test_malformed_or_local_names_are_refused_up_front(url: str):
    with pytest.raises(ValidationFailed):
        check_url(url, STRICT)


def test_a_name_resolving_to_loopback_is_refused_at_send_time():
    # "localhost" resolves through the system resolver, as any name would.
    with pytest.raises(UnsafeCallback, match="loopback"):
        resolve("https://localhost/hook", STRICT)
    assert str(resolve("http://localhost/hook", LOCAL).address) in ("127.0.0.1", "::1")


@pytest.mark.parametrize(
    "url",
    [
        "https://[2002:7f00:1::]/hook",  # 6to4 around 127.0.0.1
        "https://[2002:a9fe:a9fe::1]/latest",  # 6to4 around the metadata address
        "https://[2002:a00:1::]/hook",  # 6to4 around 10.0.0.1
        # Teredo: the client address is the last 32 bits inverted; ~127.0.0.1 = 80ff:fffe.
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",
    ],
)
def test_ipv4_addresses_tunnelled_in_ipv6_are_checked_as_ipv4(url: str):
    # Python counts 2002::/16 and 2001::/32 as global, but a relay delivers them to the IPv4 address inside.
    with pytest.raises(UnsafeCallback):
        resolve(url, STRICT)
    with pytest.raises(ValidationFailed):
        check_url(url, STRICT)
