"""The one domain error views and the admin show to people instead of a 500."""


class ActionRefused(Exception):
    """An action that cannot happen now; str(error) is a sentence for the person who tried."""
