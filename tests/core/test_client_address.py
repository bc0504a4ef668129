"""The client address: REMOTE_ADDR, or X-Forwarded-For only as far as trusted proxies vouch for it."""

import pytest
from django.test import RequestFactory

from orgdash.core.client_address import client_ip


def request_from(remote="10.0.0.2", forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        # No trusted proxy: the header is the client's to write, so it is ignored.
        (0, "203.0.113.5", None, "203.0.113.5"),
        (0, "203.0.113.5", "198.51.100.1", "203.0.113.5"),
        # One proxy: the entry it appended (the rightmost); anything left of it was forged.
        (1, "10.0.0.2", "203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.2", "192.0.2.1, 203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.2", "192.0.2.1,203.0.113.5 ", "203.0.113.5"),
        # Two proxies: the outer one's entry, second from the right.
        (2, "10.0.0.3", "192.0.2.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        # Fewer entries than proxies, no header, or garbage where the address should be: the peer.
        (2, "10.0.0.3", "203.0.113.5", "10.0.0.3"),
        (1, "10.0.0.2", None, "10.0.0.2"),
        (1, "10.0.0.2", "", "10.0.0.2"),
        (1, "10.0.0.2", "192.0.2.1, not-an-address", "10.0.0.2"),
        # Forms some proxies write: a port, IPv6 in brackets; IPv6 is canonicalised.
        (1, "10.0.0.2", "203.0.113.5:51234", "203.0.113.5"),
        (1, "10.0.0.2", "[2001:DB8::1]:443", "2001:db8::1"),
        (1, "10.0.0.2", "2001:db8:0:0::1", "2001:db8::1"),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.ORGDASH_TRUSTED_PROXY_COUNT = proxies
    assert client_ip(request_from(remote, forwarded)) == expected


def test_no_address_at_all_is_none(settings):
    assert client_ip(request_from(remote="")) is None
