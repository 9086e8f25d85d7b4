"""Stop reading an upload once it passes UPLOAD_MAX_BYTES: the rest of the body is never read
(a connection reset), and the view tells the person why."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

TOO_LARGE_ATTRIBUTE = "upload_too_large"


def too_large_message() -> str:
    return f"The file must be no larger than {filesizeformat(settings.UPLOAD_MAX_BYTES)}."


class SizeLimitUploadHandler(FileUploadHandler):
    """First of the upload handlers: passes chunks on until a file grows past the limit."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0  # across every file of the request

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            setattr(self.request, TOO_LARGE_ATTRIBUTE, True)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) keeps the file


def upload_too_large(request: HttpRequest) -> bool:
    """True when request's upload was cut off at the size limit."""
    if request.method == "POST":
        request.FILES  # noqa: B018 (parsing the body runs the handlers)
    return bool(getattr(request, TOO_LARGE_ATTRIBUTE, False))
