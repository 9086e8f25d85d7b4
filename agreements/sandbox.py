"""Parse an upload in a child process with a memory and time limit: a hostile file that makes
the parser loop or swell kills only the child, and is refused."""

import json
import resource
import subprocess
import sys

from django.conf import settings

from .inspection import Inspection, Refused

SANDBOX_MEMORY_BYTES = 768 * 1024 * 1024  # address space: Python, pypdf and Pillow with room
SANDBOX_CPU_SECONDS = 15
SANDBOX_WALL_SECONDS = 30
CANNOT_CHECK = (
    "The file could not be checked safely: reading it took too long or too much memory. "
    "Save or print it again as a plain PDF and upload that."
)


def _limits() -> None:  # runs in the child, before it starts Python
    resource.setrlimit(resource.RLIMIT_AS, (SANDBOX_MEMORY_BYTES, SANDBOX_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (SANDBOX_CPU_SECONDS, SANDBOX_CPU_SECONDS))


def inspect_in_sandbox(content: bytes, allowed: frozenset[str]) -> Inspection:
    """inspection.inspect_upload in a limited child process; Refused when it refuses or dies."""
    try:
        finished = subprocess.run(  # noqa: S603 (our own module, arguments are kind names)
            [sys.executable, "-m", "agreements.inspection", *sorted(allowed)],
            input=content,
            capture_output=True,
            timeout=SANDBOX_WALL_SECONDS,
            preexec_fn=_limits,  # noqa: PLW1509 (no threads are started between fork and exec)
            cwd=settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(settings.BASE_DIR)},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Refused(CANNOT_CHECK) from None
    if finished.returncode != 0:
        raise Refused(CANNOT_CHECK)
    verdict = json.loads(finished.stdout)
    if not verdict.pop("ok"):
        raise Refused(verdict["reason"])
    return Inspection(**verdict)
