"""The public verify page: is this PDF a genuine agreement sealed by this portal?"""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from requests_app import throttle
from requests_app.audit import client_ip
from requests_app.errors import ActionRefused
from requests_app.views import private_page

from .forms import VerifyForm
from .models import Agreement
from .sealing import verify
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
            return render(request, "requests_app/too_many.html", status=429)
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
