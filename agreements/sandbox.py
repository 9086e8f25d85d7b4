"""Parse an uploaded file in a child process with a memory and time limit: a hostile file that
makes a parser loop or swell kills only the child, and is refused. Two jobs run this way: the
upload inspection (agreements.inspection) and the PDF signature checks (signature_check)."""

import json
import subprocess
import sys

from django.conf import settings

from .inspection import Inspection, Refused

SANDBOX_MEMORY_BYTES = 768 * 1024 * 1024  # address space: Python, pypdf, Pillow, pyHanko
SANDBOX_CPU_SECONDS = 15
SANDBOX_WALL_SECONDS = 20  # below gunicorn's 30 s worker time-out
CANNOT_CHECK = (
    "The file could not be checked safely: reading it took too long or too much memory. "
    "Save or print it again as a plain PDF and upload that."
)


def _run_child(module: str, arguments: list[str], content: bytes) -> dict | None:
    """module's main() in a limited child, content on its stdin; its JSON answer, or None when
    it ran out of time or memory (or failed in any other way)."""
    try:
        finished = subprocess.run(  # noqa: S603 (our own modules; arguments are ours)
            [
                sys.executable,
                "-m",
                module,
                str(SANDBOX_MEMORY_BYTES),
                str(SANDBOX_CPU_SECONDS),
                *arguments,
            ],
            input=content,
            capture_output=True,
            timeout=SANDBOX_WALL_SECONDS,
            cwd=settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(settings.BASE_DIR)},
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if finished.returncode != 0:
        return None
    return json.loads(finished.stdout)


def inspect_in_sandbox(content: bytes, allowed: frozenset[str]) -> Inspection:
    """inspection.inspect_upload in a limited child process; Refused when it refuses or dies."""
    verdict = _run_child("agreements.inspection", sorted(allowed), content)
    if verdict is None:
        raise Refused(CANNOT_CHECK)
    if not verdict.pop("ok"):
        raise Refused(verdict["reason"])
    return Inspection(**verdict)


def check_seal_in_sandbox(pdf: bytes, *, cert_path: str, root_paths: list[str]) -> tuple[bool, str]:
    """signature_check.check_seal in a limited child: (genuine, a sentence)."""
    answer = _run_child("agreements.signature_check", ["seal", cert_path, *root_paths], pdf)
    if answer is None:
        return False, "This file could not be checked safely (too long or too large to read)."
    return answer["genuine"], answer["summary"]


def describe_in_sandbox(pdf: bytes) -> str:
    """signature_check.describe in a limited child."""
    answer = _run_child("agreements.signature_check", ["describe"], pdf)
    if answer is None:
        return "The PDF's signatures could not be checked safely (too long or too large to read)."
    return answer["summary"]
