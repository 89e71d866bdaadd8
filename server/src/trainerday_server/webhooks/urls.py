"""Callback URLs a server may safely call (SSRF): https to public addresses, checked again at every send.

A host name is resolved and every address it resolves to must be allowed; the request is then made to that
checked address (``Target``), so a DNS answer that changes between the check and the connection (rebinding)
cannot redirect it to an internal one.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from trainerday_server.errors import ValidationFailed

MAX_URL_LENGTH = 2000
# Cloud metadata services: never, whatever the configuration allows.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeCallback(Exception):
    """A callback URL or address that must not be called; the message says why, for the subscriber."""


@dataclass(frozen=True)
class Policy:
    allow_http: bool = False  # plain http, and loopback addresses (tests, local development)
    allow_private: bool = False  # private networks (a receiver on the LAN)


@dataclass(frozen=True)
class Target:
    """Where one request goes: the URL as given, and the checked address to connect to."""

    url: str
    host: str
    address: Address
    port: int
    scheme: str


def check_url(url: str, policy: Policy, *, field: str = "callbackUrl") -> str:
    """The URL if its form is acceptable (scheme, host, no credentials or fragment); else ValidationFailed.

    Addresses are checked by ``resolve`` (at subscription and at every send)."""
    try:
        parts = _split(url, policy)
    except UnsafeCallback as exc:
        raise ValidationFailed.single(field, str(exc)) from None
    host = parts.hostname or ""
    literal = _literal(host)
    if literal is not None:
        try:
            _check_address(literal, policy)
            _check_plain_http(parts.scheme, literal)
        except UnsafeCallback as exc:
            raise ValidationFailed.single(field, str(exc)) from None
    elif host.lower() in LOOPBACK_NAMES and not policy.allow_http:
        raise ValidationFailed.single(field, f"{host} is a loopback address, which callbacks may not use")
    return url


def _split(url: str, policy: Policy) -> SplitResult:
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or not c.isprintable() for c in url):
        raise UnsafeCallback(
            f"{url[:80]!r} is not a valid URL (at most {MAX_URL_LENGTH} printable characters)"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise UnsafeCallback(f"{url[:80]!r} is not a valid URL") from None
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeCallback(f"{url[:80]!r} must be an https:// URL")
    if not parts.hostname:
        raise UnsafeCallback(f"{url[:80]!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeCallback("the URL must not carry credentials (user:password@)")
    if parts.fragment or url.endswith("#"):
        raise UnsafeCallback("the URL must not contain a fragment (#...)")
    return parts


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _unwrap(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped, 6to4 (2002::/16) or Teredo IPv6 one: a relay delivers those to
    the IPv4 address, which Python's ``is_global`` on the IPv6 form does not see (6to4 counts as global)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


def _check_address(address: Address, policy: Policy) -> None:
    address = _unwrap(address)
    if address in METADATA_ADDRESSES:
        raise UnsafeCallback(f"{address} is a cloud metadata address")
    if address.is_loopback:
        if policy.allow_http:
            return
        raise UnsafeCallback(f"{address} is a loopback address")
    if address.is_link_local:
        raise UnsafeCallback(f"{address} is a link-local address")
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        raise UnsafeCallback(f"{address} is not a unicast internet address")
    if address.is_private or not address.is_global:
        if policy.allow_private:
            return
        raise UnsafeCallback(f"{address} is a private address")


def _check_plain_http(scheme: str, address: Address) -> None:
    """Plain http (allowed at all only by ``allow_http``) goes to this machine only, never over a network
    (so a 6to4 or Teredo form of 127.0.0.1, which would travel through a relay, is not loopback here)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if scheme == "http" and not address.is_loopback:
        raise UnsafeCallback(f"plain http is allowed to loopback addresses only, not {address}: use https")


def resolve(url: str, policy: Policy) -> Target:
    """The address to call for ``url``: every address the host resolves to must be allowed, and the first is
    used. Raises UnsafeCallback with the reason."""
    parts = _split(url, policy)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = _literal(host)
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise UnsafeCallback(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
        if not addresses:
            raise UnsafeCallback(f"{host} resolves to no address")
    for address in addresses:
        _check_address(address, policy)
        _check_plain_http(parts.scheme, address)
    return Target(url=url, host=host, address=addresses[0], port=port, scheme=parts.scheme)
