"""The explorer's server: a token in the address, a foreign Host or Origin refused (DNS rebinding, foreign pages).

The guard (:class:`gradlab.explore.serve.LoopbackOnly`) is tested on its own with a stand-in app, then the real
server (``gradlab explore``) with plain HTTP and a hand-written WebSocket handshake.
"""
import asyncio
import base64
import http.client
import os
import socket
import urllib.parse

import pytest

from gradlab.explore.serve import LoopbackOnly, allowed_hosts

from .test_browser import _serve

PORT = 27181


def _call(scope_type, host, origin=None):
    """What LoopbackOnly does with one request: ('app', None) passed on, or the messages it sent itself."""
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
    scope = {"type": scope_type, "headers": headers, "path": "/"}
    reached, sent = [], []

    async def app(scope, receive, send):
        reached.append(scope)

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    asyncio.run(LoopbackOnly(app, PORT)(scope, receive, send))
    return ("app", None) if reached else ("refused", sent)


def test_the_allowed_hosts_are_the_loopback_names_with_this_port():
    assert allowed_hosts(PORT) == {f"127.0.0.1:{PORT}", f"localhost:{PORT}"}


@pytest.mark.parametrize("scope_type", ["http", "websocket"])
@pytest.mark.parametrize("host, origin", [
    (f"127.0.0.1:{PORT}", None), (f"localhost:{PORT}", None), (f"127.0.0.1:{PORT}", f"http://127.0.0.1:{PORT}"),
    (f"localhost:{PORT}", f"http://localhost:{PORT}/"),
])
def test_requests_from_this_server_pass(scope_type, host, origin):
    assert _call(scope_type, host, origin) == ("app", None)


@pytest.mark.parametrize("host, origin, reason", [
    ("evil.example", None, "Host 'evil.example'"),  # DNS rebinding: a foreign name that resolves to 127.0.0.1
    (f"evil.example:{PORT}", None, "Host 'evil.example:"),
    ("127.0.0.1:1", None, "Host '127.0.0.1:1'"),
    ("", None, "Host ''"),
    (f"127.0.0.1:{PORT}", "http://evil.example", "Origin 'http://evil.example'"),
    (f"127.0.0.1:{PORT}", f"http://127.0.0.1:{PORT}.evil.example", "is another site"),
    (f"127.0.0.1:{PORT}", "null", "Origin 'null'"),  # a sandboxed frame or a file:// page
])
def test_a_foreign_host_or_origin_is_refused(host, origin, reason):
    kind, sent = _call("http", host, origin)
    assert kind == "refused" and sent[0]["status"] == 403 and reason in sent[1]["body"].decode()
    kind, sent = _call("websocket", host, origin)
    assert kind == "refused" and sent == [{"type": "websocket.close", "code": 1008, "reason": sent[0]["reason"]}]
    assert reason[:20] in sent[0]["reason"]


# --- the real server ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served():
    pytest.importorskip("marimo", reason="marimo (the 'explore' extra) is not installed")
    with _serve() as url:
        parts = urllib.parse.urlsplit(url)
        yield parts.port, urllib.parse.parse_qs(parts.query)["access_token"][0]


def _get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _cookie_for(port, token):
    status, headers, _ = _get(port, f"/?access_token={token}")
    assert status in (302, 303, 307) and "set-cookie" in {k.lower() for k in headers}
    return next(v for k, v in headers.items() if k.lower() == "set-cookie").split(";")[0]


def test_the_page_needs_the_token_and_does_not_contain_it(served):
    port, token = served
    status, headers, _ = _get(port, "/")
    assert status in (302, 303, 307) and "/auth/login" in headers.get("location", "")
    status, _, page = _get(port, "/", {"Cookie": _cookie_for(port, token)})
    assert status == 200 and "gradlab explorer" in page and token not in page


def test_the_real_server_refuses_a_foreign_host_even_with_the_token(served):
    port, token = served
    status, _, body = _get(port, f"/?access_token={token}", {"Host": "evil.example"})
    assert status == 403 and "Host 'evil.example' is not this server's address" in body
    status, _, body = _get(port, "/", {"Host": "evil.example", "Cookie": _cookie_for(port, token)})
    assert status == 403


def _handshake(port, origin, cookie):
    """The status line of a WebSocket opening handshake on /ws (what a page's ``new WebSocket`` sends)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET /ws?session_id=s_test{os.getpid()} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", f"Cookie: {cookie}"]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_the_real_server_refuses_a_websocket_from_a_foreign_origin(served):
    port, token = served
    cookie = _cookie_for(port, token)
    assert " 403 " in _handshake(port, "http://evil.example", cookie) + " "
    # The same handshake from the page's own origin is accepted: the refusal is the Origin's.
    assert " 101 " in _handshake(port, f"http://127.0.0.1:{port}", cookie) + " "
