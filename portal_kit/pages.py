"""Page decorators and responses every face uses."""

from collections.abc import Callable
from functools import wraps
from typing import IO, Any, Protocol

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

View = Callable[..., HttpResponse]


def private_page(view: View) -> View:
    """For pages behind a private link or a sign-in: never cached, never indexed."""

    @wraps(view)
    @never_cache
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def too_many(request: HttpRequest) -> HttpResponse:
    """The answer to a visitor over a throttle's limit."""
    return render(request, "too_many.html", status=429)


class Attachment(Protocol):
    file: IO[bytes]
    filename: str
    content_type: str


def attachment(download: Attachment) -> FileResponse:
    """A stored file sent as a download under its safe name, never shown inline."""
    return FileResponse(
        download.file,
        as_attachment=True,
        filename=download.filename,
        content_type=download.content_type,
    )
