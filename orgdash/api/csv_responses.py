"""The one way an endpoint answers with a CSV file: streamed on success, the JSON error shape on error."""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from rest_framework.negotiation import BaseContentNegotiation


class CsvNegotiation(BaseContentNegotiation):
    """Set as ``content_negotiation_class`` on a CSV endpoint: the success answer is the CSV itself
    whatever the client accepts, so errors must never be refused as "not acceptable"; they are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _Echo:
    """A file-like object whose ``write`` hands the line back, so ``csv.writer`` yields lines."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable, rows: Iterable[Iterable], *, lineterminator: str = "\r\n") -> Iterator[str]:
    """The header line, then one line per row, quoted as RFC 4180 says (lazily: rows are read as sent)."""
    writer = csv.writer(_Echo(), lineterminator=lineterminator)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def csv_response(content: Iterable[str | bytes], *, filename: str) -> StreamingHttpResponse:
    """A CSV download streamed from ``content`` (lines or chunks, header included)."""
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # the org's data: never kept by a browser or proxy cache
    response["X-Accel-Buffering"] = "no"  # a reverse proxy passes the rows on as they come
    return response
