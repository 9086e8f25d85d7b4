"""What WeasyPrint may read while it turns the portal's HTML into a PDF: the portal's own static
files, by their path under STATIC_URL, and nothing else (issue 11, class 5).

WeasyPrint's default fetcher opens file:, http(s):, ftp: and data: URLs, so one template mistake
(or a value that reaches a template's URL) could put /etc/passwd in an agreement or make the
worker call an internal address. Refused here, with the rendering stopped: a template that asks
for anything else is a bug to see at once, not an agreement quietly missing a part.
data: URLs are refused too, though they read nothing: no template needs them, and "static files
only" is a rule that stays true without exceptions to remember (an inline image belongs in
static/, where it is reviewed and collected like the rest).
"""

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.utils._os import safe_join

# The base URL documents are rendered against: root-relative URLs such as {% static %}'s
# "/static/css/x.css" resolve under it. .invalid never resolves (RFC 2606), so even a fetcher
# that ignored this module could not reach anything with it.
RENDER_BASE_URL = "https://portal.invalid/"


class AssetRefused(Exception):
    """The document asked for something other than one of the portal's static files."""


def static_prefix() -> str:
    return urljoin(RENDER_BASE_URL, settings.STATIC_URL)


def static_file(url: str) -> Path | None:
    """The portal's static file url names (collected, or found where collectstatic would find
    it), or None when url is not one."""
    prefix = static_prefix()
    if not url.startswith(prefix):
        return None
    name = unquote(urlsplit(url).path[len(urlsplit(prefix).path) :])
    if not name or "\\" in name or "\0" in name:
        return None
    try:
        collected = Path(safe_join(settings.STATIC_ROOT, name))
    except SuspiciousFileOperation:  # ../ out of the static root
        return None
    if collected.is_file():
        return collected
    try:
        found = finders.find(name)
    except SuspiciousFileOperation:
        return None
    return Path(found) if isinstance(found, str) else None


def static_only_fetcher():
    """A WeasyPrint URL fetcher that serves the portal's static files and refuses the rest."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            path = static_file(url)
            if path is None:
                raise AssetRefused(
                    f"A PDF may use only the portal's static files; {url[:200]!r} was refused."
                )
            mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), headers={"Content-Type": mime_type})

    # fail_on_errors: WeasyPrint stops at the first refusal instead of leaving the part out.
    return StaticOnlyFetcher(fail_on_errors=True)


def html_to_pdf(html: str) -> bytes:
    """html as a PDF, reading nothing but the portal's static files: every HTML-to-PDF path."""
    from weasyprint import HTML  # heavy import; only the worker renders
    from weasyprint.urls import FatalURLFetchingError

    try:
        return HTML(
            string=html, base_url=RENDER_BASE_URL, url_fetcher=static_only_fetcher()
        ).write_pdf()
    except FatalURLFetchingError as fatal:
        # A BaseException in WeasyPrint: passed on as an ordinary error, which the task's
        # handlers and Celery treat as a failed job rather than a dying worker.
        cause = fatal.__cause__
        raise cause if isinstance(cause, AssetRefused) else AssetRefused(str(fatal)) from None
