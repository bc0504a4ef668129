"""Content negotiation of every API endpoint (but the CSV ones, ``csv_responses.CsvNegotiation``)."""

from rest_framework.negotiation import DefaultContentNegotiation

ACCEPTS_ANYTHING = (None, "*/*")  # no Accept header, or the one curl, requests and fetch() send


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answering a client that accepts anything without parsing its Accept
    header: DRF would pick the view's first renderer and its media type, and so does this. Any
    other Accept header, a ``?format=`` or a format suffix is negotiated by DRF (406 included)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            renderers
            and format_suffix is None
            and request.META.get("HTTP_ACCEPT") in ACCEPTS_ANYTHING
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
