"""What the API answers for a path under ``/api/v1/`` that names no endpoint."""

from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt

SAFE_METHODS = ("GET", "HEAD")


def _with_slash(request) -> str | None:
    """The path with a slash appended, when that names an endpoint (API paths end with one)."""
    if request.path_info.endswith("/"):
        return None
    try:
        match = resolve(request.path_info + "/", getattr(request, "urlconf", None))
    except Resolver404:
        return None
    return None if match.func is not_found else request.path + "/"


# Exempt: it changes nothing, and a 403 CSRF page would hide the JSON answer.
@csrf_exempt
def not_found(request, path: str = ""):
    """The JSON 404 (Django's would be a page, and under DEBUG its debug page). Matching every
    path also keeps CommonMiddleware's APPEND_SLASH away from the API: it would redirect a POST
    and drop its body (and under DEBUG raise instead). A read of a path missing only its slash
    is redirected as before; a write is told the right path."""
    right_path = _with_slash(request)
    if right_path is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    if request.method in SAFE_METHODS:
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return JsonResponse({"detail": f"Not found. API paths end with a slash: {request.method} {right_path}"}, status=404)
