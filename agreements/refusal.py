"""The one exception the upload inspection raises (its own module so that the inspection's
parts can share it without importing each other or Django)."""


class Refused(Exception):
    """Why the upload is refused, in a sentence for the person who sent it."""
