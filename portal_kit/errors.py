"""The one domain error views and the admin show to people instead of a 500."""


class ActionRefused(Exception):
    """An action that cannot happen now; str(error) is a sentence for the person who tried."""


class AnswerNeeded(ActionRefused):
    """A refusal the person can put right on the form they sent (a reason still missing): the
    form is shown again with what they typed."""
