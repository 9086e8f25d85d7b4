"""Issue 11, class 5: every HTML-to-PDF path (the FPA, the signature and certificate pages) reads
the portal's static files and nothing else. A template is shadowed with one that asks for a
local file or a loopback web server (a real one, counting the requests it gets): the rendering
stops, the server gets no request, the file's words are in no PDF. Each case first renders with
WeasyPrint's own fetcher, to show the reference would be read if it were allowed."""

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import weasyprint

from agreements.pdf import render_agreement_pdf
from agreements.pdf_assets import RENDER_BASE_URL, AssetRefused, html_to_pdf
from agreements.sealing import certificate_pages
from tests.agreements.corpus import image_bytes
from tests.factories import AgreementFactory

pytestmark = pytest.mark.django_db
SECRET = "SECRET-WORDS-FROM-A-LOCAL-FILE"
SERVED = "WORDS-FROM-THE-LOOPBACK-SERVER"


@pytest.fixture
def loopback_server():
    """A web server on 127.0.0.1 that records every path asked of it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            body = (
                image_bytes("PNG")
                if self.path.endswith(".png")
                else f'body::before {{ content: "{SERVED}" }}'.encode()
            )
            self.send_response(200)
            self.send_header(
                "Content-Type", "image/png" if self.path.endswith(".png") else "text/css"
            )
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_css(tmp_path):
    path = tmp_path / "secret.css"
    path.write_text(f'body::before {{ content: "{SECRET}" }}')
    return path


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def hostile_references(server: str, secret_css) -> dict[str, str]:
    return {
        "a file: stylesheet": f'<link rel="stylesheet" href="{secret_css.as_uri()}">',
        "a file: stylesheet by @import": f'<style>@import url("{secret_css.as_uri()}");</style>',
        "a loopback stylesheet": f'<link rel="stylesheet" href="{server}/style.css">',
        "a loopback image": f'<img src="{server}/logo.png">',
        "a loopback background in CSS": f"<p style=\"background: url('{server}/bg.png')\">x</p>",
        "a loopback stylesheet by @import": f'<style>@import url("{server}/i.css");</style>',
        "a static-looking path on the loopback server": (
            f'<link rel="stylesheet" href="{server}/static/css/portal.css">'
        ),
    }


CASES = [
    "a file: stylesheet",
    "a file: stylesheet by @import",
    "a loopback stylesheet",
    "a loopback image",
    "a loopback background in CSS",
    "a loopback stylesheet by @import",
    "a static-looking path on the loopback server",
]


@pytest.mark.parametrize("case", CASES)
def test_weasyprints_own_fetcher_would_read_the_reference(
    case, loopback_server, secret_css, tmp_path
):
    server, hits = loopback_server
    html = f"<html><head>{hostile_references(server, secret_css)[case]}</head><body>x</body></html>"

    text = pdf_text(weasyprint.HTML(string=html).write_pdf(), tmp_path)

    assert hits or SECRET in text  # the control: without our fetcher the reference is read


@pytest.fixture
def shadow_template(settings, tmp_path):
    """Put a template of the given name before the app's own (a template mistake, made here)."""
    folder = tmp_path / "templates"

    def shadow(name: str, body: str) -> None:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(body)
        settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [folder]}]

    return shadow


RENDERERS = {
    "agreements/fpa.html": lambda agreement: render_agreement_pdf(agreement),
    "agreements/certificate.html": lambda agreement: certificate_pages(agreement, None),
}


@pytest.mark.parametrize("template", list(RENDERERS))
@pytest.mark.parametrize("case", CASES)
def test_no_pdf_path_reads_a_local_file_or_reaches_the_network(
    template, case, shadow_template, loopback_server, secret_css
):
    server, hits = loopback_server
    reference = hostile_references(server, secret_css)[case]
    shadow_template(template, f"<html><head>{reference}</head><body>Agreement</body></html>")

    with pytest.raises(AssetRefused, match="only the portal's static files"):
        RENDERERS[template](AgreementFactory())

    assert hits == []


@pytest.mark.parametrize(
    "reference",
    [
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<link rel="stylesheet" href="/static/%2e%2e/%2e%2e/pyproject.toml">',
        '<link rel="stylesheet" href="/static/../../pyproject.toml">',
        '<link rel="stylesheet" href="ftp://127.0.0.1/x.css">',
        '<link rel="stylesheet" href="/etc/passwd">',
    ],
)
def test_data_urls_traversal_and_other_schemes_are_refused(reference):
    with pytest.raises(AssetRefused):
        html_to_pdf(f"<html><head>{reference}</head><body>x</body></html>")


def test_the_portals_static_files_are_served(settings, tmp_path):
    collected = tmp_path / "collected"
    (collected / "css").mkdir(parents=True)
    (collected / "css" / "pdf.css").write_text('body::before { content: "FROM-STATIC-ROOT" }')
    settings.STATIC_ROOT = collected
    html = (
        '<html><head><link rel="stylesheet" href="/static/css/pdf.css">'
        # Not collected: found where collectstatic would find it (static/ in the checkout).
        '<link rel="stylesheet" href="/static/css/portal.css"></head><body>x</body></html>'
    )

    assert "FROM-STATIC-ROOT" in pdf_text(html_to_pdf(html), tmp_path)
    assert RENDER_BASE_URL.endswith(".invalid/")
