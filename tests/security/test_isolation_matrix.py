"""Every route of the tenant and public URLconfs, requested by every kind of caller.

The routes are enumerated from the URL resolvers, so a new endpoint is covered without touching
this file. Each route's expected answer is derived from the access policy it declares:

- DRF views: their ``permission_classes`` (see ``API_POLICIES``); an unknown class fails the test.
- Dashboard pages: ``@org_admin_required`` marks the view with ``access_policy = "org_admin"``.
- SCIM (``/scim/v2/``): ``scim.authentication.IsScimClient``; only the org's SCIM token opens it,
  everyone else (sessions and keys included) gets 401, and the token opens nothing else.
- Other pages: listed by URL name in ``PAGE_POLICIES``.

A route with none of these fails the test: a new endpoint must declare who may call it.

Skipped by rule: the views of Django admin that are Django's own code (``django.*`` modules:
model changelists, change forms, history, password change, ...), except its index and login page.
They sit behind the same ``AdminSite.admin_view`` guard as the index, which the matrix covers.
Admin views written in this project (e.g. an org's members page) are kept and must answer like
the index: staff only.

Every request made by an identity is wrapped in a savepoint that is rolled back, so a write that
succeeds (an admin deactivating a member) does not change what the next request sees.
"""

import re
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.views import APIView

from accounts.models import Membership, Role
from accounts.services import api_key_create, invite_create, scim_token_rotate
from orgdash.core.models import User
from tests.conftest import host_of, login
from tests.factories import make_member
from tests.security.conftest import forget_cache_keys

# --- identities ---------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
MEMBER = "acme member"
VIEWER = "acme viewer"
DEACTIVATED_SESSION = "deactivated acme admin (session)"
DEACTIVATED_KEY = "deactivated acme admin (API key)"
FOREIGN_SESSION = "globex admin session on acme host"
FOREIGN_KEY = "globex admin API key on acme host"
SERVICE_KEY = "acme service key"
SCIM_TOKEN = "acme SCIM token"
FOREIGN_SCIM_TOKEN = "globex SCIM token on acme host"
STAFF = "support staff"
ADMIN = "acme admin"

IDENTITIES = [
    ANONYMOUS,
    MEMBER,
    VIEWER,
    DEACTIVATED_SESSION,
    DEACTIVATED_KEY,
    FOREIGN_SESSION,
    FOREIGN_KEY,
    SERVICE_KEY,
    SCIM_TOKEN,
    FOREIGN_SCIM_TOKEN,
    STAFF,
    ADMIN,
]
# Who the server must treat as nobody on acme's host.
UNAUTHENTICATED = {
    ANONYMOUS,
    DEACTIVATED_SESSION,
    DEACTIVATED_KEY,
    FOREIGN_SESSION,
    FOREIGN_KEY,
    SCIM_TOKEN,  # outside /scim/v2/
    FOREIGN_SCIM_TOKEN,
}
# Callers that hold a valid acme session (pages see them as logged in).
SESSION_USERS = {MEMBER, VIEWER, STAFF, ADMIN}

# --- declared policies --------------------------------------------------------------------------

# DRF permission class (module.qualname) -> identities allowed past it.
API_POLICIES = {
    "accounts.api.permissions.IsOrgAdmin": {ADMIN, STAFF},
    "accounts.api.permissions.IsOrgMember": {ADMIN, MEMBER, VIEWER},
    # The ingestion endpoint: org admins (and staff) or the org's service keys.
    "activity.api.views.MayIngestActivity": {ADMIN, STAFF, SERVICE_KEY},
}
SCIM_PERMISSION = "scim.authentication.IsScimClient"
# SCIM routes whose answer to the SCIM token is 404 (no such endpoint), and those taking POST only.
SCIM_NOT_FOUND = {"scim-root", "scim-not-found"}
# Pages that are not dashboard pages: URL name -> policy.
PAGE_POLICIES = {
    "home": "front_page",  # admins and staff go on to the dashboard, members see their own page
    "login": "login_page",
    "logout": "logout",  # a GET asks first (a page with the POST form) and logs nobody out
    "invite-accept": "invite_page",
    "invite-joined": "login_required",
    # Password reset: open to anyone, the same for everyone (a link with a wrong token shows the
    # invalid-link page).
    "password_reset": "open_page",
    "password_reset_done": "open_page",
    "password_reset_complete": "open_page",
    "password_reset_confirm": "open_page",
    "profile": "login_required",  # any member (and staff): their own name, password and keys
    "hygiene-keep-access": "invite_page",  # a dormancy warning's token link: a page for anyone holding it
    "api-not-found": "api_not_found",  # any other path under /api/v1/: a JSON 404 for everyone
}
ADMIN_ROUTES_KEPT = {"index": "admin_index", "login": "admin_login"}
# Owner-scoped API resources: only the owner's request finds the object; other allowed callers get 404.
OWNER_SCOPED = {"api-key": MEMBER}
MAX_FUZZ_STATUS = 500
ALLOWED_WRITE_STATUSES = {200, 201, 202, 204, 400, 409}
FOREIGN_MARKERS = (b"globex",)  # globex's name, slug, domain and admin e-mail all contain it


@dataclass
class Route:
    path: str  # the route as declared, e.g. "api/v1/users/<int:pk>/"
    name: str | None
    callback: object
    in_admin: bool = False
    methods: list[str] = field(default_factory=lambda: ["get"])
    policy: str | None = None
    allowed: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"/{self.path} ({self.name})"


def _walk(resolver, prefix="", in_admin=False):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            admin = in_admin or pattern.app_name == "admin"
            yield from _walk(pattern, prefix + str(pattern.pattern), admin)
        elif isinstance(pattern, URLPattern):
            yield Route(prefix + str(pattern.pattern), pattern.name, pattern.callback, in_admin)


def _drf_view_class(callback):
    view_class = getattr(callback, "cls", None)
    return view_class if isinstance(view_class, type) and issubclass(view_class, APIView) else None


def _classify(route: Route) -> Route:
    view_class = _drf_view_class(route.callback)
    if view_class is not None:
        initkwargs = getattr(route.callback, "initkwargs", {}) or {}
        permissions = initkwargs.get("permission_classes", view_class.permission_classes)
        actions = getattr(route.callback, "actions", None)
        names = initkwargs.get("http_method_names", view_class.http_method_names)
        if actions:
            route.methods = sorted(actions)
        else:
            route.methods = [
                m for m in ("get", "post", "put", "patch", "delete") if m in names and hasattr(view_class, m)
            ]
        if not permissions:
            route.policy = "api_open"
            return route
        if [f"{p.__module__}.{p.__qualname__}" for p in permissions] == [SCIM_PERMISSION]:
            route.policy, route.allowed = "scim", {SCIM_TOKEN}
            return route
        allowed = None
        for permission in permissions:
            key = f"{permission.__module__}.{permission.__qualname__}"
            if key not in API_POLICIES:
                return route  # unknown policy: reported as a failure
            allowed = API_POLICIES[key] if allowed is None else allowed & API_POLICIES[key]
        route.policy, route.allowed = "api", set(allowed)
        return route
    if route.in_admin:
        # The project's own admin views answer like the index: staff only.
        route.policy = ADMIN_ROUTES_KEPT.get(route.name, "admin_index")
        return route
    if getattr(route.callback, "access_policy", None) == "org_admin":
        route.policy = "org_admin_page"
        return route
    route.policy = PAGE_POLICIES.get(route.name)
    return route


def _is_django_admin_internal(route: Route) -> bool:
    module = getattr(route.callback, "__module__", "") or ""
    return route.in_admin and route.name not in ADMIN_ROUTES_KEPT and module.startswith("django.")


def routes_of(urlconf: str) -> list[Route]:
    routes = []
    for route in _walk(get_resolver(urlconf)):
        if _is_django_admin_internal(route):
            continue  # see the module docstring
        routes.append(_classify(route))
    return routes


# --- the acme world -----------------------------------------------------------------------------


@dataclass
class World:
    clients: dict[str, Client]
    headers: dict[str, dict]
    member_pk: int
    invite_pk: int
    invite_token: str
    member_key_pk: int
    acme_pk: int

    def fill(self, route: Route) -> str:
        path = route.path

        def value(match: re.Match) -> str:
            name = match.group("name")
            if name == "token":
                return self.invite_token
            if name == "uidb64":
                return "MQ"  # a user id; with the invite's token the reset link is invalid
            if name == "object_id" and path.startswith("admin/core/organization/"):
                return str(self.acme_pk)
            if name == "pk":
                if path.startswith("api/v1/invites/"):
                    return str(self.invite_pk)
                if path.startswith(("api/v1/users/", "org/dashboard/users/")):
                    return str(self.member_pk)
                if path.startswith("api/v1/api-keys/"):
                    return str(self.member_key_pk)
            raise LookupError(f"no real value for <{match.group(0)}> in /{path}")

        if route.name == "scim-not-found":
            return "/scim/v2/NoSuchEndpoint"
        if route.name == "api-not-found":
            return "/api/v1/no-such-endpoint/"
        if name_of := {"scim-user": str(self.member_pk), "scim-resource-type": "User"}.get(route.name):
            path = path.replace("<str:resource_id>", name_of)
        if route.name == "scim-schema":
            path = path.replace("<str:schema_id>", "urn:ietf:params:scim:schemas:core:2.0:User")
        if not isinstance(path, str) or "(?P" in path or path.startswith("^"):
            raise LookupError(f"regular-expression route /{path}: add how to fill it")
        return "/" + re.sub(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>", value, path)


def _bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def world(acme, globex, settings_api_key_limit) -> World:
    acme_host, globex_host = host_of("acme"), host_of("globex")

    connection.set_tenant(globex)
    globex_admin = Membership.objects.get(email="admin@globex.test")
    _, globex_secret = api_key_create(membership=globex_admin, label="matrix")
    _, globex_scim_secret = scim_token_rotate(label="matrix")

    connection.set_tenant(acme)
    acme_admin = User.objects.get(email="admin@acme.test")
    member = Membership.objects.get(email="member@acme.test")
    _, member_secret = api_key_create(membership=member, label="matrix")
    member_key_pk = member.api_keys.get(label="matrix").pk
    departing = make_member(role=Role.ADMIN)
    _, departing_secret = api_key_create(membership=departing, label="matrix")
    _, service_secret = api_key_create(membership=None, label="matrix service")
    _, scim_secret = scim_token_rotate(label="matrix")
    invited = invite_create(emails=["matrix-invitee@example.test"], role=Role.MEMBER, actor=acme_admin)
    invite_pk = invited.invited[0].pk
    invite_token = invited.tokens[invite_pk]
    connection.set_schema_to_public()

    clients = {identity: Client(HTTP_HOST=acme_host, raise_request_exception=False) for identity in IDENTITIES}
    for identity, email in [
        (MEMBER, "member@acme.test"),
        (VIEWER, "viewer@acme.test"),
        (STAFF, "support@orgdash.test"),
        (ADMIN, "admin@acme.test"),
        (DEACTIVATED_SESSION, departing.email),
    ]:
        assert login(clients[identity], email).status_code == 302, f"{identity} could not log in"
    response = clients[FOREIGN_SESSION].post(
        "/accounts/login/", {"email": "admin@globex.test", "password": _password()}, HTTP_HOST=globex_host
    )
    assert response.status_code == 302, "the globex admin could not log in on globex"

    # The departing admin is deactivated after logging in: the session and key they hold must die.
    connection.set_tenant(acme)
    Membership.objects.filter(pk=departing.pk).update(state=Membership.State.DEACTIVATED, deactivated_at=timezone.now())
    connection.set_schema_to_public()

    headers = {identity: {} for identity in IDENTITIES}
    headers[FOREIGN_KEY] = _bearer(globex_secret)
    headers[SERVICE_KEY] = _bearer(service_secret)
    headers[SCIM_TOKEN] = _bearer(scim_secret)
    headers[FOREIGN_SCIM_TOKEN] = _bearer(globex_scim_secret)
    headers[DEACTIVATED_KEY] = _bearer(departing_secret)
    assert member_secret  # the member's own key only supplies the owner-scoped route's id
    return World(clients, headers, member.pk, invite_pk, invite_token, member_key_pk, acme.pk)


def _password():
    from tests.conftest import PASSWORD

    return PASSWORD


@pytest.fixture
def settings_api_key_limit(settings):
    # The foreign and deactivated keys fail on purpose on every API route; do not throttle them here.
    settings.ORGDASH_API_KEY_FAILURE_LIMIT = 1_000_000
    forget_cache_keys("api-key-failures")
    yield
    forget_cache_keys("api-key-failures")


def _send(client: Client, method: str, path: str, headers: dict):
    """One request in a savepoint that is rolled back afterwards; returns (status, body, response)."""
    kwargs = dict(headers)
    if method in ("post", "put", "patch"):
        kwargs.update(data="{}", content_type="application/json")
    with transaction.atomic():
        response = getattr(client, method)(path, **kwargs)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    connection.set_schema_to_public()
    return response.status_code, body, response


# --- expectations -------------------------------------------------------------------------------


def expected_status(route: Route, identity: str, method: str) -> set[int]:
    policy = route.policy
    if policy == "scim":
        if identity != SCIM_TOKEN:
            return {401}
        if route.name in SCIM_NOT_FOUND:
            return {404}
        if method not in route.methods:
            return {405}
        return {200} if method == "get" else ALLOWED_WRITE_STATUSES
    if policy == "api_open":
        return {200}
    if policy == "api_not_found":
        return {404}
    if policy == "api":
        if identity not in route.allowed:
            return {401} if identity in UNAUTHENTICATED else {403}
        if method not in route.methods:
            return {405}
        if route.name in OWNER_SCOPED:
            return {204} if OWNER_SCOPED[route.name] == identity else {404}
        return {200} if method == "get" else ALLOWED_WRITE_STATUSES
    if policy == "org_admin_page":
        if identity in (STAFF, ADMIN):
            return {200}
        return {403} if identity in (MEMBER, VIEWER) else {302}
    if policy == "front_page":
        return {200} if identity in (MEMBER, VIEWER) else {302}
    if policy == "login_page":
        return {302} if identity in SESSION_USERS else {200}
    if policy == "logout":
        return {200}
    if policy in ("invite_page", "open_page"):
        return {200}
    if policy == "login_required":
        return {200} if identity in SESSION_USERS else {302}
    if policy == "admin_index":
        return {200} if identity == STAFF else {302}
    if policy == "admin_login":
        return {302} if identity == STAFF else {200}
    raise AssertionError(f"no expectation for policy {policy}")


def expected_location(route: Route, status: int) -> str | None:
    """Where a redirect must lead (a prefix)."""
    if status != 302:
        return None
    if route.policy in ("org_admin_page", "login_required"):
        return "/accounts/login/?next="
    if route.policy == "admin_index":
        return "/admin/login/"
    return None


# --- the tests ----------------------------------------------------------------------------------


def test_every_route_declares_an_access_policy():
    """A route nobody declared a policy for fails here, before it can ship unguarded."""
    undeclared = [route.label for route in routes_of("orgdash.urls_tenant") if route.policy is None]
    assert undeclared == [], f"routes without a known access policy: {undeclared}"


def test_the_enumeration_sees_the_known_routes():
    paths = {route.path for route in routes_of("orgdash.urls_tenant")}
    for expected in ("org/dashboard/", "api/v1/users/", "api/v1/users/<int:pk>/deactivate/", "admin/", "admin/login/"):
        assert expected in paths
    assert "admin/core/user/" not in paths  # Django's own admin views are skipped by rule


def test_isolation_matrix_on_the_acme_host(world):
    routes = routes_of("orgdash.urls_tenant")
    failures, checked = [], 0
    for route in routes:
        if route.policy is None:
            failures.append(f"{route.label}: no declared access policy")
            continue
        try:
            path = world.fill(route)
        except LookupError as error:
            failures.append(str(error))
            continue
        api_like = route.policy.startswith("api") or route.policy == "scim"
        methods = ["get", *[m for m in route.methods if m != "get"]] if api_like else ["get"]
        for identity in IDENTITIES:
            for method in methods:
                status, body, response = _send(world.clients[identity], method, path, world.headers[identity])
                checked += 1
                expected = expected_status(route, identity, method)
                where = f"{method.upper()} {path} as {identity}"
                if status not in expected:
                    failures.append(f"{where}: {status}, expected {sorted(expected)}")
                location = expected_location(route, status)
                if location and not response["Location"].startswith(location):
                    failures.append(f"{where}: redirected to {response['Location']}, expected {location}…")
                if status >= MAX_FUZZ_STATUS:
                    failures.append(f"{where}: server error")
                for marker in FOREIGN_MARKERS:
                    if marker in body.lower():
                        failures.append(f"{where}: the body mentions {marker.decode()!r}")
    assert not failures, f"{len(failures)} of {checked} requests broke isolation:\n" + "\n".join(failures)
    assert checked > 200  # the matrix really ran over the routes


def test_healthz_answers_every_caller_without_org_data(world):
    for identity in IDENTITIES:
        status, body, _ = _send(world.clients[identity], "get", "/healthz", world.headers[identity])
        assert status == 200, identity
        assert b"globex" not in body.lower()


def test_isolation_matrix_on_the_public_host(world):
    """The bare domain serves Django admin only; org sessions and keys open nothing there."""
    public_host = settings.ORGDASH_BASE_DOMAIN
    staff = Client(HTTP_HOST=public_host, raise_request_exception=False)
    response = staff.post("/admin/login/", {"username": "support@orgdash.test", "password": _password()})
    assert response.status_code == 302
    callers = {
        ANONYMOUS: (Client(HTTP_HOST=public_host, raise_request_exception=False), {}),
        "acme admin session on the public host": (world.clients[ADMIN], {"HTTP_HOST": public_host}),
        "acme service key on the public host": (
            Client(HTTP_HOST=public_host, raise_request_exception=False),
            world.headers[SERVICE_KEY],
        ),
        STAFF: (staff, {}),
    }
    failures = []
    routes = routes_of("orgdash.urls_public")
    for route in routes:
        path = world.fill(route)
        for caller, (client, headers) in callers.items():
            status, _, response = _send(client, "get", path, headers)
            if route.name is None and route.path == "":
                expected = {302}
            elif route.policy == "admin_index":
                expected = {200} if caller == STAFF else {302}
            elif route.policy == "admin_login":
                expected = {302} if caller == STAFF else {200}
            else:
                failures.append(f"{path}: no declared access policy")
                continue
            if status not in expected:
                failures.append(f"GET {path} as {caller}: {status}, expected {sorted(expected)}")
    # An org API path does not exist on the public host, whoever asks.
    status, body, _ = _send(callers[ANONYMOUS][0], "get", "/api/v1/users/", world.headers[FOREIGN_KEY])
    assert status == 404
    assert b"globex" not in body.lower()
    assert not failures, "\n".join(failures)
    assert len(routes) >= 3


def test_unknown_host_is_404_never_an_org(db):
    client = Client(HTTP_HOST=f"nosuchorg.{settings.ORGDASH_BASE_DOMAIN}")
    response = client.get("/org/dashboard/")
    assert response.status_code == 404
    assert b"acme" not in response.content.lower()


def test_a_malformed_host_is_404_never_an_org(db):
    for host in ("5@4-|jEI", "acme.localhost@evil.test", ""):
        response = Client(HTTP_HOST=host).get("/api/v1/activity/engagement/")
        assert response.status_code == 404, host
        assert b"acme" not in response.content.lower()
