"""Files stored with a database change: none left behind when the change rolls back, and none
left behind by a crash between the write and the commit (swept)."""

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils import timezone

logger = logging.getLogger(__name__)


@contextmanager
def stored_file(field_file: FieldFile, name: str, content: bytes) -> Iterator[FieldFile]:
    """Store content in field_file for a transaction; remove it again if the block fails.

    The database rolls back by itself; the file on disk would otherwise stay, unreferenced. A
    process killed before the commit cannot remove it: sweep_unreferenced_files does, later.
    """
    field_file.save(name, ContentFile(content), save=False)
    stored_name = field_file.name
    assert stored_name is not None  # save() has just set it to where the storage put content
    _crash_here_for_tests()
    try:
        yield field_file
    except BaseException:
        field_file.storage.delete(stored_name)
        raise


def _crash_here_for_tests() -> None:
    """Test only (settings.test, CRASH_AFTER_FILE_WRITE_ONCE names a marker file): the process
    kills itself right after its first file write, as a crash before the commit would."""
    marker = getattr(settings, "CRASH_AFTER_FILE_WRITE_ONCE", "")
    if marker and not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os.kill(os.getpid(), signal.SIGKILL)


def referenced_files() -> set[str]:
    """Every name a FileField of any model holds."""
    names: set[str] = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                values = model._default_manager.exclude(**{field.name: ""}).values_list(
                    field.name, flat=True
                )
                names.update(value for value in values if value)
    return names


# Where the models' upload_to functions put files (agreements.models): nothing else is swept.
SWEPT_FOLDERS = ("agreements", "evidence")


def sweep_unreferenced_files() -> list[str]:
    """Delete stored files no row refers to and older than FILE_SWEEP_GRACE_MINUTES (a crash
    between a file's write and its commit); the names deleted.

    The grace covers a write whose transaction has not committed yet: far longer than any task's
    time limit or web request.
    """
    cutoff = timezone.now() - timedelta(minutes=settings.FILE_SWEEP_GRACE_MINUTES)
    referenced = referenced_files()
    deleted = []
    for name in (name for folder in SWEPT_FOLDERS for name in _stored_names(folder)):
        if name in referenced:
            continue
        if default_storage.get_modified_time(name) > cutoff:
            continue
        # Read again: a row committed since the list above was taken keeps its file.
        if name in referenced_files():
            continue
        default_storage.delete(name)
        deleted.append(name)
        logger.warning("deleted %s: no row refers to it (a crash before its commit)", name)
    return deleted


def _stored_names(directory: str) -> Iterator[str]:
    if not default_storage.exists(directory):
        return
    folders, files = default_storage.listdir(directory)
    for file_name in files:
        yield f"{directory}/{file_name}" if directory else file_name
    for folder in folders:
        yield from _stored_names(f"{directory}/{folder}" if directory else folder)
