"""Parse an upload in a child process with a memory and time limit: a hostile file that makes
the parser loop or swell kills only the child, and is refused."""

import json
import subprocess
import sys

from django.conf import settings

from .inspection import Inspection, Refused

SANDBOX_MEMORY_BYTES = 768 * 1024 * 1024  # address space: Python, pypdf and Pillow with room
SANDBOX_CPU_SECONDS = 15
SANDBOX_WALL_SECONDS = 20  # below gunicorn's 30 s worker time-out
CANNOT_CHECK = (
    "The file could not be checked safely: reading it took too long or too much memory. "
    "Save or print it again as a plain PDF and upload that."
)


def inspect_in_sandbox(content: bytes, allowed: frozenset[str]) -> Inspection:
    """inspection.inspect_upload in a limited child process; Refused when it refuses or dies."""
    try:
        finished = subprocess.run(  # noqa: S603 (our own module, arguments are kind names)
            [
                sys.executable,
                "-m",
                "agreements.inspection",
                str(SANDBOX_MEMORY_BYTES),
                str(SANDBOX_CPU_SECONDS),
                *sorted(allowed),
            ],
            input=content,
            capture_output=True,
            timeout=SANDBOX_WALL_SECONDS,
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
