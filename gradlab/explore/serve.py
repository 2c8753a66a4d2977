"""The explorer's server: marimo's app on loopback, behind a token and a check of Host and Origin.

The notebook runs Python on behalf of whoever drives it, so three things stand between it and a
web page the user happens to visit:

- it listens on 127.0.0.1 only;
- it needs a token: a random one per start, carried by the address printed and opened
  (``?access_token=...``; marimo then keeps it in a session cookie), so another local user or a
  page that guesses the port gets marimo's login page, not the app;
- :class:`LoopbackOnly` refuses a request whose ``Host`` is not this server's loopback address
  (DNS rebinding: a foreign name resolved to 127.0.0.1 carries its own name in ``Host``) and a
  request or WebSocket whose ``Origin`` is another site (a browser always sends it on WebSockets
  and cross-site requests).

Run as ``python -m gradlab.explore.serve NOTEBOOK [--port N] [--no-browser]`` (what ``gradlab
explore`` starts); the app is marimo's public ``create_asgi_app``, served by uvicorn.
"""
from __future__ import annotations

import argparse
import secrets
import socket
import sys
import threading
import webbrowser

__all__ = ["HOST", "LoopbackOnly", "allowed_hosts", "main", "serve"]

HOST = "127.0.0.1"
#: marimo's own default port; the next free one is taken when it is busy.
DEFAULT_PORT = 2718
_LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a browser sends for this server (``127.0.0.1:PORT``, ``localhost:PORT``)."""
    return frozenset(f"{name}:{port}" for name in _LOOPBACK_NAMES)


class LoopbackOnly:
    """ASGI middleware: refuse a foreign ``Host`` (HTTP and WebSocket) and a foreign ``Origin``.

    A refused HTTP request gets 403 with a one-line reason; a refused WebSocket is closed before it
    is accepted (code 1008, policy violation).  A request without ``Origin`` (a same-origin GET, a
    client that is not a browser) is judged by its ``Host`` alone, and still needs the token.
    """

    def __init__(self, app, port: int):
        self.app = app
        self.hosts = allowed_hosts(port)
        self.origins = frozenset(f"http://{h}" for h in self.hosts)

    def refusal(self, scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if host not in self.hosts:
            return f"Host {host!r} is not this server's address; allowed: {', '.join(sorted(self.hosts))}"
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/") not in self.origins:
            return f"Origin {origin!r} is another site; allowed: {', '.join(sorted(self.origins))}"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            why = self.refusal(scope)
            if why is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})
                    return
                body = f"gradlab explore refused this request: {why}\n".encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _free_port(start: int) -> int:
    for port in range(start, min(start + 100, 65536)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port on {HOST} in {start}..{start + 99}; choose one with --port")


def serve(notebook: str, port: int | None = None, open_browser: bool = True) -> None:
    """Serve ``notebook`` (a marimo app file) until interrupted; prints the address with its token."""
    import marimo
    import uvicorn

    if port is None:
        port = _free_port(DEFAULT_PORT)
    else:  # a port that is taken is said before any address is printed
        from gradlab.explore.cli import check_port_free

        check_port_free(port)
    token = secrets.token_urlsafe(24)
    app = marimo.create_asgi_app(quiet=True, token=token).with_app(path="", root=notebook).build()
    url = f"http://{HOST}:{port}/?access_token={token}"
    print(f"gradlab explore: serving on {url}", flush=True)
    print("  (only this address, with its token, opens the page; Ctrl-C stops the server)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    uvicorn.run(LoopbackOnly(app, port), host=HOST, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m gradlab.explore.serve", description=__doc__.splitlines()[0])
    p.add_argument("notebook")
    p.add_argument("--port", type=int)
    p.add_argument("--no-browser", action="store_true")
    args = p.parse_args(argv)
    serve(args.notebook, args.port, open_browser=not args.no_browser)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        pass
    except ValueError as exc:  # a port taken meanwhile: one line, as the command line says it
        print(f"gradlab explore: {exc}", file=sys.stderr)
        sys.exit(2)

