"""SMTP delivery: verified TLS, AUTH, reused connections, reply codes mapped to outcomes.

- `security` is explicit and never silently downgraded: starttls against a server that does
  not offer STARTTLS is an error, not a plain-text send.
- Certificates are verified with an explicit context (ssl.create_default_context, plus
  smtp.ca_file): smtplib's starttls() and SMTP_SSL without a context accept any certificate.
- Every socket operation has smtp.timeout; TCP_NODELAY is set, or the small SMTP commands
  wait on Nagle's algorithm and STARTTLS sends crawl (about 23 a second).
- A pool of up to smtp.connections connections, each reused for many messages and reopened
  after a drop; deliver_pending runs one worker thread per connection.
- Reply codes: 4xx (and 552, RFC 5321 4.5.3.1.10), timeouts and drops are temporary; other
  5xx are permanent for that recipient. Server down, login refused (535), TLS failures and a
  refused sender raise BatchAbort: nothing is marked failed, everything stays pending.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import parseaddr

from digest.deliver import BatchAbort, SendOutcome
from digest.deliver.rate import RateLimiter
from digest.faults import fault
from digest.store.deliveries import LedgerRow

log = logging.getLogger(__name__)


def is_temporary(code: int) -> bool:
    """4xx, and 552 (mailbox full, which RFC 5321 says to treat as 452), are worth retrying."""
    return 400 <= code < 500 or code == 552 or not 500 <= code < 600


class _Tuned:
    """smtplib with TCP_NODELAY, and a flag telling whether DATA was started (a drop before
    it means the message surely did not go, so it can be retried on a new connection)."""

    data_started = False

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def data(self, msg):
        self.data_started = True
        return super().data(msg)  # type: ignore[misc]


class _Client(_Tuned, smtplib.SMTP):
    pass


class _SSLClient(_Tuned, smtplib.SMTP_SSL):
    pass


def make_ssl_context(ca_file: str | None, verify: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        log.warning("smtp.verify is false: the server certificate is NOT checked")
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpOutbox:
    method = "smtp"

    def __init__(
        self,
        config,
        clock=None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        smtp = config.smtp
        if smtp is None:
            raise BatchAbort(
                "there is no smtp section in the config",
                hint="add smtp: host, port, security, username, password_env",
            )
        self.settings = smtp
        self.host, self.port, self.security = smtp.host, smtp.effective_port, smtp.security
        self.sender = smtp.from_ or config.delivery.from_
        self.from_addr = parseaddr(self.sender)[1]
        self.connections = smtp.connections
        self.max_attempts = smtp.max_attempts_per_run
        self.pause_after = smtp.pause_after_failures
        self.retry_period = timedelta(hours=smtp.retry_hours)
        ca_file = str(config.path(smtp.ca_file)) if smtp.ca_file else None
        self._context = make_ssl_context(ca_file, smtp.verify) if smtp.security != "none" else None
        self._rate = RateLimiter(smtp.rate, monotonic=monotonic, sleep=sleep) if smtp.rate else None
        self._idle: queue.LifoQueue[_Client] = queue.LifoQueue()
        self._open: set[_Client] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ connections
    def open(self) -> None:
        """Connect (and log in) once up front: a wrong password or a server that is down
        stops the batch before any row is touched."""
        self._release(self._acquire())

    def _where(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"

    def _password(self) -> str | None:
        s = self.settings
        if not s.username:
            return None
        password = s.password()
        if password is None:
            raise BatchAbort(
                f"smtp.username is set but no password was found for {self._where()}",
                hint=f"export the password in ${s.password_env}"
                if s.password_env
                else "set smtp.password_env to the name of the variable holding the password",
            )
        return password

    def _connect(self) -> _Client:
        s = self.settings
        password = self._password()
        client: _Client | None = None
        try:
            client = self._greet()
            client.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not client.has_extn("starttls"):
                    raise BatchAbort(
                        f"{self._where()} does not offer STARTTLS; refusing to send in clear text",
                        hint="use security: ssl (port 465) if the server supports it; "
                        "security: none only for a trusted local relay",
                    )
                client.starttls(context=self._context)
                client.ehlo()
            if s.username:
                client.login(s.username, password or "")
        except BatchAbort:
            _quietly_close(client)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(client)
            raise BatchAbort(
                f"{self._where()} refused the login for {s.username!r}: {_reply(exc)}",
                hint=f"check smtp.username and the password in ${s.password_env}",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            _quietly_close(client)
            raise BatchAbort(
                f"{self._where()}: {exc}",
                hint="the server offers no AUTH here; check smtp.security",
            ) from None
        except ssl.SSLCertVerificationError as exc:
            _quietly_close(client)
            raise BatchAbort(
                f"the certificate of {self._where()} is not trusted: {exc.verify_message}",
                hint="set smtp.ca_file to the PEM of the CA that signed it",
            ) from None
        except ConnectionRefusedError:
            _quietly_close(client)
            raise BatchAbort(
                f"cannot connect to {self._where()}: connection refused",
                hint="is the mail server running? check smtp.host and smtp.port",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(client)
            raise BatchAbort(
                f"cannot open an SMTP session with {self._where()}: {_describe(exc)}",
                hint=f"check smtp.host, smtp.port and smtp.security (timeout {s.timeout:g} s)",
            ) from None
        with self._lock:
            self._open.add(client)
        return client  # type: ignore[return-value]  # set on every path that gets here

    def _greet(self) -> _Client:
        s = self.settings
        if self.security == "ssl":
            return _SSLClient(
                self.host,
                self.port,
                local_hostname=s.helo,
                timeout=s.timeout,
                context=self._context,
            )  # type: ignore[return-value]
        return _Client(self.host, self.port, local_hostname=s.helo, timeout=s.timeout)

    def _acquire(self) -> _Client:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._connect()

    def _release(self, client: _Client, *, broken: bool = False) -> None:
        if broken or client.sock is None:
            self._discard(client)
        else:
            self._idle.put(client)

    def _discard(self, client: _Client) -> None:
        with self._lock:
            self._open.discard(client)
        _quietly_close(client)

    def close(self) -> None:
        with self._lock:
            clients, self._open = list(self._open), set()
        for client in clients:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                _quietly_close(client)
        while not self._idle.empty():
            self._idle.get_nowait()

    # ------------------------------------------------------------------ sending
    def send(self, row: LedgerRow) -> SendOutcome:
        if not row.message:
            return SendOutcome(ok=False, permanent=True, detail="no message stored")
        if self._rate:
            self._rate.wait()
        for fresh_try in range(2):
            client = self._acquire()
            client.data_started = False
            try:
                return self._transaction(client, row)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._discard(client)
                if not client.data_started and fresh_try == 0:
                    continue  # a stale pooled connection: the message did not go; reconnect
                return SendOutcome(ok=False, detail=f"connection lost: {_describe(exc)}")
            finally:
                if client.sock is not None:
                    self._release(client)
                else:
                    self._discard(client)
        raise AssertionError("unreachable")  # pragma: no cover

    def _transaction(self, client: _Client, row: LedgerRow) -> SendOutcome:
        to, message = row.subscriber, row.message or b""
        try:
            refused = client.sendmail(self.from_addr, [to], message)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
            if any(code == 421 for code, _ in refused.values()):
                _quietly_close(client)  # smtplib has closed it already; make sure
        except smtplib.SMTPSenderRefused as exc:
            if not is_temporary(exc.smtp_code):
                raise BatchAbort(
                    f"{self._where()} refused the sender {self.from_addr}: {_reply(exc)}",
                    hint="check smtp.from / delivery.from: the server must allow that address",
                ) from None
            return _coded(exc.smtp_code, f"sender refused: {_reply(exc)}")
        except smtplib.SMTPResponseException as exc:  # SMTPDataError and the like
            if exc.smtp_code == 421:
                _quietly_close(client)
            return _coded(exc.smtp_code, _reply(exc))
        except (UnicodeError, smtplib.SMTPNotSupportedError) as exc:
            # e.g. a non-ASCII address the server cannot take without SMTPUTF8. smtplib may
            # have sent MAIL already: reset, or the next message gets "503 nested MAIL".
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.rset()
            return SendOutcome(ok=False, permanent=True, detail=f"cannot send to {to!r}: {exc}")
        if to not in refused:
            fault("after_smtp_250")
            return SendOutcome(ok=True, detail=f"accepted by {self.host}", code=250)
        code, text = refused[to]
        listed = tuple((a, c, _text(t)) for a, (c, t) in refused.items())
        outcome = _coded(code, f"recipient refused: {code} {_text(text)}")
        return SendOutcome(
            ok=False, permanent=outcome.permanent, detail=outcome.detail, code=code, refused=listed
        )


def _coded(code: int, detail: str) -> SendOutcome:
    return SendOutcome(ok=False, permanent=not is_temporary(code), detail=detail, code=code)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _quietly_close(client: smtplib.SMTP | None) -> None:
    if client is not None:
        with contextlib.suppress(OSError):
            client.close()
