"""Browser journeys: Debian's Chromium through Playwright, against Django's live_server.

`playwright install` cannot download a browser on these machines, so the launch uses
/usr/bin/chromium. Every test here is marked `browser` (the test command runs them last,
after `-m "not browser"`), and no page may reach past loopback.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run in
# a thread with a running loop unless told this is deliberate (the test, not a coroutine,
# makes the calls).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
SUBRESOURCES = {"stylesheet", "script", "image", "font", "media"}


def pytest_itemcollected(item):
    """Every test here is a `browser` test (marked before `-m` selects)."""
    if HERE in Path(item.path).resolve().parents:
        item.add_marker(pytest.mark.browser)


@pytest.hookimpl(trylast=True)  # after pytest-django sorts the tests by database use
def pytest_collection_modifyitems(config, items):
    """In a whole-suite run, browser tests go last: pyHanko's asyncio.run() fails once
    Playwright has run in the process (CONVENTIONS.md)."""
    browser = [item for item in items if item.get_closest_marker("browser")]
    if browser:
        chosen = set(browser)
        items[:] = [item for item in items if item not in chosen] + browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def loopback_only(context):
    """Abort any request that would leave the machine; fail the test that made one, and the
    test whose pages lost a stylesheet, script or image, threw a script error or broke the
    Content-Security-Policy."""
    escaped: list[str] = []
    broken: list[str] = []

    def guard(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in LOOPBACK_HOSTS:
            route.continue_()
        else:
            escaped.append(url)
            route.abort("blockedbyclient")

    def check_response(response):
        if response.status >= 400 and response.request.resource_type in SUBRESOURCES:
            broken.append(f"{response.status} {response.url}")

    context.route("**/*", guard)
    context.on("response", check_response)
    context.on("weberror", lambda error: broken.append(f"script error: {error.error}"))
    # Chromium reports on the console what the Content-Security-Policy refused: every journey
    # checks it. What a test evaluates itself (axe-core sets style attributes as it measures)
    # has no source URL; the pages' own markup and scripts always have one.
    context.on(
        "console",
        lambda message: (
            broken.append(f"CSP: {message.text} ({message.location['url']})")
            if "Content Security Policy" in message.text and message.location.get("url")
            else None
        ),
    )
    yield
    assert not escaped, f"pages asked for something outside loopback: {escaped}"
    assert not broken, f"pages lost a resource or threw: {broken}"
