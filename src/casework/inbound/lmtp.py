"""An LMTP receiver (aiosmtpd) for deployments whose mail server delivers to casework.

Nothing lost: the 250 that tells the mail server the message is delivered is sent only after
`ingest` has committed; any error answers 451 and the server keeps the message and retries. One
recipient per transaction (the others get 452 and come in the next one), so one answer per
message is always the right number of LMTP answers. Lines up to `inbound.max_line_bytes` are
taken (RFC 5321's 1,000 bytes is aiosmtpd's default; real mail has longer lines). Each message
is taken with a `Return-Path:` line first, the envelope's sender, as a final delivery writes it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

from casework.errors import describe_error
from casework.inbound.ingest import Ingestor
from casework.inbound.reader_state import ReaderState
from casework.settings import InboundSettings

log = logging.getLogger("casework.inbound")


class _Handler:
    def __init__(self, ingestor: Ingestor, state: ReaderState):
        self.ingestor = ingestor
        self.state = state

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if envelope.rcpt_tos:
            return "452 4.5.3 Un destinataire par transaction"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        # The final delivery adds the envelope's sender (RFC 5321 4.4): the null sender of a
        # bounce or an automatic reply is machine mail, whatever its From says.
        mail_from = (envelope.mail_from or "").strip("<>").encode("utf-8", "surrogateescape")
        raw = (
            b"Return-Path: <"
            + mail_from
            + b">\r\n"
            + (envelope.original_content or envelope.content)
        )
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                None, self.ingestor.ingest, raw, "lmtp", tuple(envelope.rcpt_tos)
            )
        except Exception as error:
            # A message the database refuses is set aside by the ingestor; this is the database
            # itself failing (or a bug): the mail server keeps the message and retries.
            self.state.failed(describe_error(error))
            log.error(
                "lmtp: a message could not be taken in (%s); the server will retry",
                describe_error(error),
            )
            return "451 4.3.0 Erreur temporaire, réessayez plus tard"
        self.state.worked(0 if result.duplicate else 1)
        return f"250 2.0.0 Reçu ({result.status})"


class _LongLinesLMTP(LMTP):
    """aiosmtpd's LMTP with its line limit (a class attribute, read when a connection's reader
    is built) set per receiver."""

    def __init__(self, handler: Any, line_length_limit: int, **kwargs: Any):
        self.line_length_limit = line_length_limit
        super().__init__(handler, **kwargs)


class _LMTPController(Controller):
    def __init__(self, handler: Any, max_line_bytes: int, **kwargs: Any):
        super().__init__(handler, **kwargs)
        self.max_line_bytes = max_line_bytes

    def factory(self) -> LMTP:
        return _LongLinesLMTP(self.handler, self.max_line_bytes, **self.SMTP_kwargs)


class LmtpReceiver:
    def __init__(
        self, ingestor: Ingestor, settings: InboundSettings, state: ReaderState | None = None
    ):
        self.settings = settings
        self.state = state or ReaderState("lmtp")
        self.controller = _LMTPController(
            _Handler(ingestor, self.state),
            settings.max_line_bytes,
            hostname=settings.lmtp_host,
            port=settings.lmtp_port,
            data_size_limit=settings.max_message_bytes,
            decode_data=False,
            ready_timeout=30.0,
        )

    def start(self) -> None:
        self.controller.start()
        self.state.started()
        log.info("lmtp: listening on %s:%s", self.settings.lmtp_host, self.settings.lmtp_port)

    def stop(self) -> None:
        self.controller.stop()
        self.state.stopped()
