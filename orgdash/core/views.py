from django.http import JsonResponse
from django.shortcuts import render

API_PATH_PREFIX = "/api/"


def is_api_request(request) -> bool:
    """API clients read JSON, even on the error paths Django answers with a page."""
    return request.path_info.startswith(API_PATH_PREFIX)


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else "You do not have access to this page."
    if is_api_request(request):
        return JsonResponse({"detail": message}, status=403)
    return render(request, "errors/403.html", {"message": message}, status=403)


def page_not_found(request, exception=None):
    if is_api_request(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "errors/404.html", status=404)
