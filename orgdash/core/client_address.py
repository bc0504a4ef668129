"""The address of the client behind a request: one answer for lock-outs, throttles and audit rows.

``REMOTE_ADDR`` is the peer that opened the connection. Behind reverse proxies that is the nearest
proxy, so with ``ORGDASH_TRUSTED_PROXY_COUNT = N`` the client is the address the outermost trusted
proxy saw: the N-th entry of ``X-Forwarded-For`` from the right (each proxy appends its peer's
address; anything further left was written by the client and is not trusted). With N = 0 the header
is ignored, so a client cannot choose the address it is counted under.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    hops = settings.ORGDASH_TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < hops:
        # The request did not pass through every trusted proxy: only the peer is known for sure.
        return remote
    return _address(forwarded[-hops]) or remote


def _address(value: str) -> str | None:
    """A canonical IP address, or None; tolerates the ``host:port`` forms some proxies write."""
    value = value.strip()
    candidates = [value]
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        candidates.append(value[1 : value.index("]")])
    elif value.count(":") == 1:  # 203.0.113.7:51234
        candidates.append(value.split(":", 1)[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
