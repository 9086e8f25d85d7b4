"""Agreements' public pages: the verify page (is this PDF a genuine agreement sealed by this
portal?) and the agreement's download from the requester's private status link."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from portal_kit import throttle
from portal_kit.errors import ActionRefused
from portal_kit.http import client_ip
from portal_kit.pages import attachment, private_page, too_many
from requests_app.audit import REQUESTER_LABEL
from requests_app.selectors import request_by_status_token

from .forms import VerifyForm
from .models import Agreement
from .sealing import verify
from .services.downloads import ISSUED, FileMissing, file_download
from .uploads import read_upload


@private_page
@require_http_methods(["GET", "POST"])
def verify_agreement(request):
    form = VerifyForm.for_request(request)
    result = agreement = None
    if request.method == "POST":
        if not throttle.allow(
            f"verify:{client_ip(request)}",
            limit=settings.VERIFY_POSTS_PER_HOUR,
            window_seconds=3600,
        ):
            return too_many(request)
        if form.is_valid():
            try:
                content, _, _ = read_upload(form.cleaned_data["file"], what="file")
            except ActionRefused as refusal:
                form.add_error("file", str(refusal))
            else:
                result = verify(content)
                if result.genuine:
                    agreement = (
                        Agreement.objects.select_related("request__organisation")
                        .filter(signed_copy_sha256=result.sha256)
                        .first()
                    )
    context = {"form": form, "result": result, "agreement": agreement}
    return render(request, "agreements/verify.html", context)


@private_page
def status_download(request, token):
    """The agreement as sent, from the requester's private status link."""
    req = request_by_status_token(token)
    if req is None:
        raise Http404("No request has that status link.")
    try:
        download = file_download(req=req, kind=ISSUED, actor_label=REQUESTER_LABEL)
    except FileMissing as missing:
        raise Http404(str(missing)) from None
    return attachment(download)
