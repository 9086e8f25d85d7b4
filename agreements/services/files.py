"""Files stored with a database change: none left behind when the change rolls back."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.db.models.fields.files import FieldFile


@contextmanager
def stored_file(field_file: FieldFile, name: str, content: bytes) -> Iterator[FieldFile]:
    """Store content in field_file for a transaction; remove it again if the block fails.

    The database rolls back by itself; the file on disk would otherwise stay, unreferenced.
    """
    field_file.save(name, ContentFile(content), save=False)
    stored_name = field_file.name
    assert stored_name is not None  # save() has just set it to where the storage put content
    try:
        yield field_file
    except BaseException:
        field_file.storage.delete(stored_name)
        raise
