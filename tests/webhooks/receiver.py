"""A real HTTP receiver on loopback for webhook tests: answers from a script, records each POST."""

import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str


class Receiver:
    """Answers the status codes in `answers` in turn (the last one from then on)."""

    def __init__(
        self,
        answers: list[int],
        *,
        location: str = "",
        delay: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ):
        self.answers = list(answers)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(Received(dict(self.headers), body, self.path))
                    status = (
                        receiver.answers.pop(0)
                        if len(receiver.answers) > 1
                        else (receiver.answers[0])
                    )
                if delay:
                    time.sleep(delay)  # a slow receiver, so runs overlap in race tests
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # https: the listening socket speaks TLS with tls's certificate
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/portal"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def posts(self) -> list[Received]:
        with self.lock:
            return list(self.received)
