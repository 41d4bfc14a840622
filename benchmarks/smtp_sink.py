"""An SMTP server that accepts and discards everything: aiosmtpd on 127.0.0.1, run as its own
process (`python -m benchmarks.smtp_sink`) so it does not share the client's GIL. Prints its
port, then serves until stdin closes; on exit prints how many messages it accepted."""

from __future__ import annotations

import sys

from aiosmtpd.controller import Controller


class Discard:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 2.0.0 discarded"


class _Controller(Controller):
    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def main() -> None:
    handler = Discard()
    ctl = _Controller(handler, hostname="127.0.0.1", port=0, ready_timeout=10)
    ctl.start()
    print(ctl.port, flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(handler.count, flush=True)
    ctl.stop()


if __name__ == "__main__":
    main()
