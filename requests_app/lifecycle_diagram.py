"""The request lifecycle as a Mermaid state diagram, drawn from the state machine itself."""

from django_fsm import ANY_OTHER_STATE, ANY_STATE

from requests_app.models import FederationRequest, State

START_MARKER = "<!-- lifecycle:start -->"
END_MARKER = "<!-- lifecycle:end -->"


def _state(value) -> str:
    try:
        return State(value).value
    except ValueError:
        # A transition to an undeclared state is a bug in the model, not in the diagram.
        raise ValueError(f"The lifecycle names a state State does not declare: {value!r}") from None


def _targets(transition, source: str) -> list[str]:
    target = transition.target
    if target is None:  # django-fsm: a transition with no target leaves the state as it was
        return [source]
    if hasattr(target, "allowed_states"):  # RETURN_VALUE / GET_STATE: decided when it runs
        if not target.allowed_states:
            raise ValueError(
                f"Transition {transition.name!r} decides its target at run time and names no "
                "allowed states, so it cannot be drawn."
            )
        return [_state(state) for state in target.allowed_states]
    return [_state(target)]


def lifecycle_edges() -> list[tuple[str, str, str]]:
    """Every (source, target, transition name) the state machine allows, in a stable order."""
    order = {value: index for index, value in enumerate(State.values)}
    field = FederationRequest._meta.get_field("state")
    edges = set()
    # django-fsm-2 expands a list of sources into one Transition per source; "*" and "+" remain.
    for transition in field.get_all_transitions(FederationRequest):
        if transition.source == ANY_STATE:
            sources = State.values
        elif transition.source == ANY_OTHER_STATE:
            # Judged as django-fsm does: every state but the target.
            sources = [s for s in State.values if s != transition.target]
        else:
            sources = [_state(transition.source)]
        for source in sources:
            for target in _targets(transition, source):
                edges.add((source, target, transition.name))
    return sorted(edges, key=lambda edge: (order[edge[0]], edge[2], order[edge[1]]))


def lifecycle_mermaid() -> str:
    """The lifecycle as a Mermaid stateDiagram-v2, without the code fence."""
    edges = lifecycle_edges()
    initial = _state(FederationRequest._meta.get_field("state").get_default())
    # Terminal: no transition leads anywhere else (rejected, withdrawn, federated today).
    leaves = {source for source, target, _ in edges if target != source}
    lines = ["stateDiagram-v2"]
    lines += [f"    {value} : {label}" for value, label in State.choices]
    lines.append(f"    [*] --> {initial}")
    lines += [f"    {source} --> {target} : {name}" for source, target, name in edges]
    lines += [f"    {value} --> [*]" for value in State.values if value not in leaves]
    return "\n".join(lines) + "\n"


def lifecycle_block() -> str:
    """The fenced block that belongs between the lifecycle markers of a document."""
    return f"```mermaid\n{lifecycle_mermaid()}```\n"


def document_block(text: str) -> str:
    """What a document holds between its lifecycle markers; ValueError when they are missing."""
    start, end = _marker_span(text)
    return text[start:end]


def replace_block(text: str) -> str:
    """The document with the block between its lifecycle markers drawn afresh."""
    start, end = _marker_span(text)
    return text[:start] + lifecycle_block() + text[end:]


def _marker_span(text: str) -> tuple[int, int]:
    if text.count(START_MARKER) != 1 or text.count(END_MARKER) != 1:
        raise ValueError(f"Expected one {START_MARKER} line and one {END_MARKER} line.")
    start = text.index(START_MARKER) + len(START_MARKER)
    end = text.index(END_MARKER)
    if end < start:
        raise ValueError(f"{END_MARKER} comes before {START_MARKER}.")
    # The block runs from the line after the start marker to the line of the end marker.
    block_start = text.find("\n", start) + 1
    if not 0 < block_start <= end or text[end - 1] != "\n":
        raise ValueError("The lifecycle markers must stand on lines of their own.")
    return block_start, end
