"""Who ran a management command, for the audit log: there is no portal user on the command line."""

import getpass


def operator_label(command: str) -> str:
    """The login name that ran command, as the audit log's actor label."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry, as in some containers
        user = "unknown user"
    return f"{user} (manage.py {command})"
