"""The deployment: production settings pass `check --deploy`; the Dockerfile's build steps, run
on a clean copy of the checkout with the image's environment, give an app that gunicorn and
whitenoise serve with the security headers; every docker-compose service restarts and has a
health check, and each health check tells a working service from a missing one.

No Docker engine runs on these machines, so the image's steps run here: its RUN commands (the
package installs checked against what is installed, not repeated from the internet), its ENV,
its COPY, then the web service's command on a loopback port.
"""

import http.client
import importlib.metadata
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from packaging.requirements import Requirement

from tests.conftest import ROOT, wait_for
from tests.factories import FederationRequestFactory

VENV_BIN = Path(sys.executable).parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
HOST = "portal.example"


def _throwaway_production_env(**overrides: str) -> dict[str, str]:
    """What production settings refuse to start without, as throwaway values."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://deploy-check@127.0.0.1:1/none",
        "CELERY_BROKER_URL": "memory://",
        "CACHE_URL": "redis://127.0.0.1:1/0",
        "EMAIL_URL": "consolemail://",
        "ALLOWED_HOSTS": HOST,
        "SITE_URL": f"https://{HOST}",
        **overrides,
    }


def _clean_env(**extra: str) -> dict[str, str]:
    """A process environment with nothing of the test run's settings in it."""
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/root"),  # npm's cache
        "LANG": "C.UTF-8",
        **extra,
    }


def test_check_deploy_passes_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_clean_env(
            DJANGO_SETTINGS_MODULE="federation_portal.settings.production",
            **_throwaway_production_env(),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- docker-compose.yml ------------------------------------------------------------------------


def test_every_compose_service_restarts_by_itself_and_has_a_health_check():
    services = COMPOSE["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker", "beat"}
    # migrate is a one-off job the others wait for (service_completed_successfully): it is run
    # again only when it failed, and has no health to check, only an exit status.
    assert services["migrate"]["restart"] == "on-failure"
    for waiting in ("web", "worker", "beat"):
        assert services[waiting]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    problems = {}
    for name, service in services.items():
        if name == "migrate":
            continue
        if service.get("restart") not in ("unless-stopped", "always"):
            problems[name] = f"restart: {service.get('restart')}"
        test = (service.get("healthcheck") or {}).get("test")
        if not test or test[0] not in ("CMD", "CMD-SHELL") or len(test) < 2:
            problems[name] = f"healthcheck: {test}"
    assert problems == {}


def _health_command(service: str, replace: dict[str, str] | None = None) -> list[str]:
    """The service's health check as argv, with container-only names replaced for here."""
    kind, *argv = COMPOSE["services"][service]["healthcheck"]["test"]
    if kind == "CMD-SHELL":
        # Compose turns $$ into $ before the shell sees it.
        argv = ["sh", "-c", argv[0].replace("$$", "$")]
    for old, new in (replace or {}).items():
        argv = [part.replace(old, new) for part in argv]
    return argv


def _healthy(argv: list[str], env: dict[str, str] | None = None) -> bool:
    result = subprocess.run(argv, env=env, capture_output=True, timeout=120, cwd=ROOT)
    if result.returncode:
        print(argv, result.stdout.decode(), result.stderr.decode())  # shown when a test fails
    return result.returncode == 0


def test_the_db_and_redis_health_checks_ask_the_real_servers():
    db = settings.DATABASES["default"]
    pg = _health_command("db")
    assert _healthy([*pg, "-h", db["HOST"], "-p", str(db["PORT"])])
    assert not _healthy([*pg, "-h", "127.0.0.1", "-p", str(_free_port())])
    # Here the servers listen on loopback ports, not in the container beside the check.
    assert _healthy(_health_command("redis", {"redis-cli": "redis-cli -h 127.0.0.1 -p 6379"}))
    closed = f"redis-cli -h 127.0.0.1 -p {_free_port()}"
    assert not _healthy(_health_command("redis", {"redis-cli": closed}))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_health_check_pings_its_own_node(celery_worker_process):
    # The test worker's node name is celery@<this machine's host name>, as in a container.
    env = {
        **os.environ,
        **_clean_env(),  # celery on PATH, as in the image
        "DJANGO_SETTINGS_MODULE": "federation_portal.settings.test",
    }
    assert _healthy(_health_command("worker"), {**env, "HOSTNAME": socket.gethostname()})
    assert not _healthy(_health_command("worker"), {**env, "HOSTNAME": "no-such-worker"})


@pytest.mark.worker
def test_the_beat_health_check_sees_a_ticking_scheduler(tmp_path):
    schedule = tmp_path / "celerybeat-schedule"
    check = _health_command("beat", {"/tmp/celerybeat-schedule": str(schedule)})  # noqa: S108
    assert not _healthy(check), "healthy with no beat running"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "federation_portal.settings.test",
        # Beat's jobs go to a queue no worker reads: this test only watches it tick.
        "TEST_BROKER_PREFIX": f"{settings.TEST_BROKER_PREFIX}beat-health:",
    }
    log = (tmp_path / "beat.log").open("w")
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "federation_portal", "beat", "-s", str(schedule)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Beat writes its schedule as it sets up, before its first tick.
        wait_for(lambda: _healthy(check), timeout=60, what="beat's schedule file")
    finally:
        beat.terminate()
        beat.wait(timeout=30)
    old = time.time() - 11 * 60
    for path in tmp_path.glob("celerybeat-schedule*"):
        os.utime(path, (old, old))
    assert not _healthy(check), "healthy with a schedule file untouched for 11 minutes"


# --- The Dockerfile ------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    root: Path
    workdir: Path = field(init=False)
    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.workdir = self.root


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) pairs: continuation lines joined, comment lines dropped."""
    instructions, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or (not line.strip() and not current):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        keyword, _, argument = current.strip().partition(" ")
        instructions.append((keyword.upper(), argument.strip()))
        current = ""
    return instructions


def _inside(stage: Stage, path: str) -> Path:
    """A path of the image, under the stage's own folder here."""
    return stage.root / path.lstrip("/") if path.startswith("/") else stage.workdir / path


def _copy(sources: list[Path], destination: Path) -> None:
    for source in sources:
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True, symlinks=True)
        else:
            target = destination / source.name if destination.is_dir() else destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _check_installed_requirements(requirements: Path) -> None:
    """pip install, checked rather than repeated: each pinned requirement is what is installed."""
    wrong = []
    for line in requirements.read_text().split("\n"):
        if line.strip():
            requirement = Requirement(line)
            installed = importlib.metadata.version(requirement.name)
            if not requirement.specifier.contains(installed, prereleases=True):
                wrong.append(f"{line} (installed: {installed})")
    assert wrong == [], "the image would install other versions than the tests ran with"


def _run(command: str, stage: Stage) -> None:
    """One RUN step in the stage's folder, with the image's environment and nothing else."""
    command = command.replace("/tmp/", f"{stage.root}/tmp/")  # noqa: S108 (the image's /tmp)
    (stage.root / "tmp").mkdir(parents=True, exist_ok=True)
    if command.startswith("apt-get "):
        # Debian packages: the same ones must be installed here (scripts/test installs them).
        packages = re.findall(r"--no-install-recommends\s+([^&]+)", command)[0].split()
        for package in packages:
            status = subprocess.run(
                ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
            )
            assert "install ok installed" in status.stdout, f"{package} is not installed"
        return
    if "pip install" in command:
        generate, _, install = command.partition("&&")
        assert install.strip().startswith("pip install") and "-r /" in command
        _shell(generate, stage)
        requirements = re.search(r"-r\s+(\S+)", install).group(1)
        _check_installed_requirements(Path(requirements))
        return
    if command.startswith("useradd "):
        return  # the image's own user: nothing here runs as root's or another user
    if command.startswith("npm ci"):
        # npm's cache from the setup; a test never leaves loopback.
        command = command.replace("npm ci", "npm ci --offline", 1)
    elif "manage.py" not in command:
        pytest.fail(f"a Dockerfile step this test does not know how to run: RUN {command}")
    _shell(command, stage)


def _shell(command: str, stage: Stage) -> None:
    result = subprocess.run(
        ["sh", "-c", command],
        cwd=stage.workdir,
        env=_clean_env(**stage.env),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"RUN {command}\n{result.stdout}\n{result.stderr}"


def build_image_here(context: Path, into: Path) -> Stage:
    """Run the Dockerfile's stages on the build context; the final stage (its folder, its
    environment, its command)."""
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for instruction, argument in dockerfile_instructions((context / "Dockerfile").read_text()):
        if instruction == "FROM":
            words = argument.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stage = stages[name] = Stage(name, into / f"stage-{name}")
            stage.root.mkdir(parents=True)
            continue
        assert stage is not None
        if instruction == "WORKDIR":
            stage.workdir = _inside(stage, argument)
            stage.workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "ENV":
            for word in shlex.split(argument):
                key, _, value = word.partition("=")
                stage.env[key] = value
        elif instruction == "COPY":
            *sources, destination = argument.split()
            if sources[0].startswith("--from="):
                origin = stages[sources.pop(0).split("=", 1)[1]]
                paths = [_inside(origin, source) for source in sources]
            else:
                paths = [context / source for source in sources]
            _copy(paths, _inside(stage, destination))
        elif instruction == "RUN":
            _run(argument, stage)
        elif instruction == "CMD":
            stage.cmd = json.loads(argument)
        elif instruction not in ("USER", "EXPOSE"):
            pytest.fail(f"a Dockerfile instruction this test does not know: {instruction}")
    assert stage is not None
    return stage


def clean_checkout(into: Path) -> Path:
    """The build context a fresh clone gives: the tracked files, less what .dockerignore
    leaves out."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in filter(None, listed.split("\0")):
        path = Path(name)
        if any(path.match(pattern) or name.startswith(pattern + "/") for pattern in ignored):
            continue
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, *, https: bool = True) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": HOST}
    if https:
        headers["X-Forwarded-Proto"] = "https"  # as the TLS-ending proxy in front says
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def _serving(port: int, process: subprocess.Popen) -> bool:
    assert process.poll() is None, "the web service exited"
    try:
        return _get(port, "/").status == 200
    except OSError:
        return False


def test_dockerignore_keeps_secrets_and_local_builds_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".git", ".venv", "node_modules", "static/vendor", "staticfiles"} <= ignored


@pytest.mark.deployment
@pytest.mark.django_db(transaction=True)
def test_the_image_builds_from_a_clean_checkout_and_serves_with_the_security_headers(tmp_path):
    image = build_image_here(clean_checkout(tmp_path / "context"), tmp_path / "image")
    assert (image.workdir / "staticfiles" / "staticfiles.json").is_file()

    req = FederationRequestFactory()  # committed: the server reads it from the test database
    db = settings.DATABASES["default"]
    port = _free_port()
    web = COMPOSE["services"]["web"]
    # The compose web command (the image's gunicorn; compose's migrate job ran before it) on a
    # loopback port, against the test database, migrated already.
    command = [part.replace("0.0.0.0:8000", f"127.0.0.1:{port}") for part in web["command"]]
    assert " ".join(image.cmd).replace("0.0.0.0:8000", f"127.0.0.1:{port}") == " ".join(command), (
        "docker-compose's web command and the image's CMD start gunicorn differently"
    )
    runtime_env = _throwaway_production_env(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CACHE_URL="redis://127.0.0.1:6379/15",
        PRIVATE_MEDIA_ROOT=str(tmp_path / "private"),
        TEST_BROKER_PREFIX=settings.TEST_BROKER_PREFIX,
    )
    log = (tmp_path / "web.log").open("w")
    server = subprocess.Popen(
        command,
        cwd=image.workdir,
        env=_clean_env(**image.env, **runtime_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # gunicorn's boot; its own worker timeout is 30 s.
        wait_for(lambda: _serving(port, server), timeout=180, what="gunicorn to serve")
        start = _get(port, "/")
        stylesheet = re.search(
            r'href="(/static/vendor/nhsuk/nhsuk-frontend\.min\.[0-9a-f]{12}\.css)"',
            start.body.decode(),
        )
        assert stylesheet, "the start page does not name the cache-busted stylesheet"
        answers = {
            "start page": start,
            "status page": _get(port, f"/status/{req.status_token}/"),
            "static file": _get(port, stylesheet.group(1)),
        }
        for name, response in answers.items():
            assert response.status == 200, f"{name}: {response.status}"
            headers = response.headers
            policy = headers["Content-Security-Policy"] or ""
            assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy, name
            assert "'unsafe-inline'" not in policy, name
            assert headers["Strict-Transport-Security"] == (
                "max-age=31536000; includeSubDomains; preload"
            ), name
            assert headers["X-Content-Type-Options"] == "nosniff", name
            assert headers["Referrer-Policy"] == "same-origin", name
        assert answers["static file"].headers["Content-Type"].startswith("text/css")
        assert "immutable" in answers["static file"].headers["Cache-Control"]  # whitenoise
        assert b".nhsuk-header" in answers["static file"].body
        # Plain HTTP is sent to HTTPS, without HSTS (browsers take it only over HTTPS).
        plain = _get(port, "/", https=False)
        assert plain.status == 301 and plain.headers["Location"].startswith("https://")
        # The web service's health check, as compose runs it, against this server.
        check = _health_command("web", {"127.0.0.1:8000": f"127.0.0.1:{port}"})
        assert _healthy(check, _clean_env(ALLOWED_HOSTS=HOST))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
