"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, an OS-chosen port, replies scripted
per recipient, optional AUTH, STARTTLS or implicit TLS with a trustme certificate.

    with SmtpServer(script={"a@x.org": ["451 4.3.0 later", None]}) as server:
        ... send to 127.0.0.1:server.port ...
        server.messages  # what the server accepted (after its 250)

A script entry is a list of replies used one per attempt (the last one repeats); None means
accept. A reply is an RCPT reply ("550 5.1.1 no such user"), or "DATA:<reply>" for the answer
after the final dot ("DATA:554 5.7.1 rejected"), or "DROP" to close the connection after the
final dot without answering (the message did arrive).
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: tuple = ()

    @property
    def message_id(self) -> str:
        return BytesHeaderParser(policy=compat32).parsebytes(self.data)["Message-ID"]


@dataclass
class Handler:
    script: dict[str, list[str | None]] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)
    arrived: list[Received] = field(default_factory=list)  # including dropped/refused at DATA
    rcpt_calls: int = 0
    _tries: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _reply_for(self, address: str) -> str | None:
        replies = self.script.get(address.lower())
        if not replies:
            return None
        with self._lock:
            n = self._tries.get(address.lower(), 0)
            self._tries[address.lower()] = n + 1
        return replies[min(n, len(replies) - 1)]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_calls += 1
        reply = self._reply_for(address)
        session.pending_reply = reply
        if reply and not reply.startswith(("DATA:", "DROP")):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        got = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            bytes(envelope.original_content),
            tuple(session.peer or ()),
        )
        reply = getattr(session, "pending_reply", None)
        self.arrived.append(got)
        if reply == "DROP":
            server.transport.close()
            return "250 never seen"
        if reply and reply.startswith("DATA:"):
            return reply[len("DATA:") :]
        self.messages.append(got)
        return "250 2.0.0 queued"

    def ids(self) -> list[str]:
        return [m.message_id for m in self.messages]


class _Controller(Controller):
    def _trigger_server(self):
        # port 0: learn the port the OS chose before aiosmtpd connects to itself.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Tls:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost (trustme)."""

    def __init__(self, folder: Path) -> None:
        import trustme

        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.cert.configure_cert(ctx)
        return ctx


class SmtpServer:
    def __init__(
        self,
        script: dict[str, list[str | None]] | None = None,
        *,
        tls: Tls | None = None,
        implicit_tls: bool = False,
        auth: tuple[str, str] | None = None,
        auth_require_tls: bool = True,
        port: int = 0,
    ) -> None:
        self.handler = Handler(script={k.lower(): v for k, v in (script or {}).items()})
        kwargs = {}
        if auth:

            def authenticator(server, session, envelope, mechanism, data):
                ok = (
                    isinstance(data, LoginPassword)
                    and (data.login.decode(), data.password.decode()) == auth
                )
                # handled=False: aiosmtpd itself answers 535 on failure.
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=authenticator, auth_require_tls=auth_require_tls)
        if tls and not implicit_tls:
            kwargs["tls_context"] = tls.server_context()
        if implicit_tls and tls:
            kwargs["ssl_context"] = tls.server_context()
        self.controller = _Controller(
            self.handler, hostname="127.0.0.1", port=port, ready_timeout=10, **kwargs
        )

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class SilentServer:
    """Accepts connections and never says a word (no greeting): the client must time out."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def free_port() -> int:
    """A port nothing listens on (bound then released): for 'server down' tests."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
