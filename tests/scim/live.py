"""A scim2-client engine over ``requests`` for the live test server (reached at 127.0.0.1 with the
org's Host header, as ``*.localhost`` names do not resolve everywhere)."""

import json
from urllib.parse import urlsplit, urlunsplit

import requests
from scim2_client import BaseSyncSCIMClient


class LiveScimClient(BaseSyncSCIMClient):
    def __init__(self, *, port: int, host: str, token: str, **kwargs):
        super().__init__(**kwargs)
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/scim/v2"
        self.session = requests.Session()
        self.session.headers.update({"Host": f"{host}:{port}", "Authorization": f"Bearer {token}"})

    def _stays_under_base_url(self, endpoint: str) -> bool:
        parts = urlsplit(endpoint)
        return not parts.scheme and not parts.netloc and ".." not in parts.path

    def _parse_json(self, response):
        return json.loads(response.text)

    def url_for(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme:  # a resource's meta.location names the org's host
            return urlunsplit(("http", f"127.0.0.1:{self.port}", parts.path, parts.query, ""))
        return self.base_url + (url if url.startswith("/") else f"/{url}")

    def request(self, method: str, url: str, **kwargs):
        return self.session.request(method, self.url_for(url), timeout=30, **kwargs)
