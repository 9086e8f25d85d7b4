"""A process killed between writing a file and committing the row that refers to it leaves no
file behind for good: the hourly sweep deletes what no row refers to, after its grace period."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from agreements.selectors import current_agreement
from agreements.services.agreements import agreement_issue
from agreements.services.files import sweep_unreferenced_files
from requests_app.models import State
from tests.conftest import clear_broker, start_worker, stop_worker, wait_for
from tests.factories import request_in

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def issued_files() -> set[Path]:
    folder = Path(settings.PRIVATE_MEDIA_ROOT) / "agreements" / "issued"
    return set(folder.glob("*")) if folder.exists() else set()


def test_a_render_killed_before_its_commit_leaves_no_file_once_swept(feedback_user, tmp_path):
    marker = tmp_path / "crashed-once"
    clear_broker(settings.CELERY_BROKER_URL)
    worker, log_path = start_worker(
        broker_url=settings.CELERY_BROKER_URL,
        database_name=settings.DATABASES["default"]["NAME"],
        # The pool process rendering the FPA kills itself right after writing the PDF, before
        # its transaction commits (once: the marker file says it has).
        extra_env={"CRASH_AFTER_FILE_WRITE_ONCE": str(marker)},
    )
    try:
        before = issued_files()
        req = request_in(State.REVIEWED, feedback_user)
        agreement_issue(request_id=req.pk, actor=feedback_user)

        def sent():
            req.refresh_from_db()
            return req.state == State.FPA_SENT

        # The job comes back at once (reject_on_worker_lost) and renders again: the test
        # settings' worker bound, as in test_worker.
        wait_for(sent, timeout=60, what="the agreement rendered again and sent after the kill")
        assert marker.exists()
        assert "WorkerLostError" in log_path.read_text()
    finally:
        stop_worker(worker)

    agreement = current_agreement(req)
    kept = Path(settings.PRIVATE_MEDIA_ROOT) / agreement.pdf.name
    written = issued_files() - before
    assert len(written) == 2 and kept in written  # the killed render's file, and the retry's
    (orphan,) = written - {kept}

    assert str(orphan.relative_to(settings.PRIVATE_MEDIA_ROOT)) not in sweep_unreferenced_files()
    assert orphan.exists()  # within the grace period: it might still be about to be committed

    later = timezone.now() + timedelta(minutes=settings.FILE_SWEEP_GRACE_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        deleted = sweep_unreferenced_files()

    assert str(orphan.relative_to(settings.PRIVATE_MEDIA_ROOT)) in deleted
    assert issued_files() - before == {kept}
    with agreement.pdf.open("rb") as handle:  # the agreement's own file is untouched
        assert handle.read().startswith(b"%PDF-")
