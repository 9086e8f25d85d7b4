"""The local run a newcomer starts with ./scripts/run: demo logins for four eyes, every email
kept and shown with its links, the portal's own error pages, and Ctrl+C that leaves nothing
running."""

import contextlib
import io
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.mail import get_connection, send_mail
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import ROOT, wait_for


@pytest.mark.django_db
def test_seed_demo_prints_two_feedback_team_logins_and_a_service_desk_one():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)

    lines = [line for line in out.getvalue().splitlines() if "password" in line and "key" in line]
    assert sum(line.strip().startswith("Feedback team:") for line in lines) == 2
    assert sum(line.strip().startswith("Service desk:") for line in lines) == 1
    # Who registers API clients on the local run (manage.py api_client_create --actor apiadmin).
    api_admins = [line for line in lines if line.strip().startswith("API administrators and")]
    assert len(api_admins) == 1
    assert "four eyes" in out.getvalue()
    for username in ("feedback", "feedback2"):
        user = get_user_model().objects.get(username=username)
        assert user.groups.filter(name="Feedback team").exists()
        assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1


def test_the_local_run_keeps_every_email_and_announces_it_with_its_links(tmp_path, settings):
    settings.LOCAL_MAIL_DIR = str(tmp_path)
    backend = "federation_portal.local_mail.LocalMailBackend"
    link = "http://127.0.0.1:8000/account/sign-in/link/abc123/"

    send_mail(
        "First",
        f"Open {link} to sign in.",
        "portal@example",
        ["a@example.org"],
        connection=get_connection(backend),
    )
    # A later run (a new backend, as after a restart) adds to what is kept.
    send_mail(
        "Second",
        "No links here.",
        "portal@example",
        ["b@example.org"],
        connection=get_connection(backend),
    )

    saved = sorted(tmp_path.glob("*.eml"))
    assert [path.name.split("-", 3)[-1] for path in saved] == ["first.eml", "second.eml"]
    assert link in saved[0].read_text()
    log = (tmp_path / "sent.log").read_text()
    assert "Email to a@example.org: First" in log and f"    {link}" in log
    assert "Email to b@example.org: Second" in log
    assert str(saved[1]) in log


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every process below pid, found through /proc (the worker runs in its own session)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping remains


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.worker
def test_ctrl_c_stops_the_server_and_the_worker_and_leaves_no_process(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "federation_portal.settings.local",
    }
    env.pop("DEBUG", None)
    run = subprocess.Popen(
        ["./scripts/run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    output: list[str] = []
    processes: set[int] = {run.pid}
    reader = threading.Thread(
        target=lambda: output.extend(line.decode(errors="replace") for line in run.stdout),
        daemon=True,
    )
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}"
        # Setting up on a fresh database (migrate, the seal, the demo data) takes a while.
        wait_for(lambda: _serving(base), timeout=300, what="./scripts/run to serve")
        status, page = _get(f"{base}/no-such-page/")
        assert status == 404 and "Page not found" in page and "Traceback" not in page
        assert _get(f"{base}/static/css/portal.css")[0] == 200
        # seed_demo's requests email their requesters; the worker sends them and the terminal
        # shows each with its links (the outbox sweeper runs every 5 s locally).
        wait_for(
            lambda: any("Email to alex@northshire-care.example.org.uk" in line for line in output),
            timeout=120,
            what="the demo request's email to appear in the terminal",
        )
        assert any(f"{base}/status/" in line for line in output)
        processes |= _descendants(run.pid)
        assert len(processes) >= 4  # the script, the server, the worker and its pool

        os.killpg(run.pid, signal.SIGINT)  # Ctrl+C
        time.sleep(10)
        left = sorted(pid for pid in processes if _running(pid) and pid != run.pid)
        assert left == [], f"still running 10 s after Ctrl+C: {left}"
        assert run.poll() is not None
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        for pid in processes | _descendants(run.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.wait(timeout=30)


def _serving(base: str) -> bool:
    try:
        return _get(f"{base}/")[0] == 200
    except OSError:
        return False
