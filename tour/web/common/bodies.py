"""Reading a posted form: the one place request bodies are read.

A malformed body (a truncated multipart form, gzip that is not gzip) is the sender's
mistake: 400 with one line, and one line in the log, never a 500 with a traceback.
A body that stalls halfway is given up after `Settings.body_timeout_s` (408), so a
half-sent request cannot hold a connection open.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from tour.web.keys import settings_key

log = logging.getLogger(__name__)


class MalformedBody(web.HTTPBadRequest):
    """The body could not be read as a form; the staff pages say it in the person's language."""


class StalledBody(web.HTTPRequestTimeout):
    """The body did not arrive within the setting; the staff pages say it in their language."""


async def read_form(request: web.Request) -> dict[str, str]:
    """Read a posted form; a malformed or stalled body is the sender's mistake, never a 500."""
    timeout = request.app[settings_key].body_timeout_s
    try:
        async with asyncio.timeout(timeout):
            data = await request.post()
    except TimeoutError:
        # No address: the tour keeps none of its visitors' (docs: "no access log").
        log.warning(
            "%s %s: the body stalled for %g s; answered 408", request.method, request.path, timeout
        )
        # The rest of the body may never come: the connection is not kept for another request.
        stalled = StalledBody(text=f"The request body did not arrive within {timeout:g} s.")
        stalled.force_close()
        raise stalled from None
    except (
        ValueError,
        LookupError,
        AssertionError,
        HttpProcessingError,
        RequestPayloadError,
    ) as error:
        reason = one_line(error)
        log.warning(
            "%s %s: malformed body (%s); answered 400", request.method, request.path, reason
        )
        # The sender lost track of its own body: the connection ends after this answer.
        malformed = MalformedBody(text=f"The form could not be read ({reason}).")
        malformed.force_close()
        raise malformed from None
    return {key: value for key, value in data.items() if isinstance(value, str)}


def end_failed_body(request: web.Request, response: web.StreamResponse) -> None:
    """Before any answer: a body aiohttp's parser gave up on is ended, and so is the connection.

    The parser feeds such a body no more, but aiohttp drains an unread body after the
    answer and would raise the parser's error again there, logged with a traceback,
    whether or not the handler read the body (a refusal before reading, a redirect).
    """
    body = request.content
    if body.exception() is not None and not body.is_eof():
        body.feed_eof()
        response.force_close()
        # aiohttp wrote its Connection header before this hook: say the close to the client.
        response.headers["Connection"] = "close"


def one_line(error: BaseException) -> str:
    """The error's own words on one line: aiohttp's messages can span several."""
    text = " ".join(str(error).split()) or type(error).__name__
    # aiohttp prefixes its parser errors with their status: the answer says that already.
    return text.removeprefix("400, message: ")[:200]


class ParserErrorLine(logging.Filter):
    """aiohttp's own log line for a request it could not handle, without the address.

    The tour keeps no visitor's address, in its log neither. A request that aiohttp's
    parser refused (a broken request line or header, before any handler ran) is the
    sender's mistake: one line, no traceback. Any other error keeps its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Error handling request from"):
            return True
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = "a malformed request was refused: %s", (one_line(error),)
            record.exc_info, record.exc_text = None, None
        else:
            record.msg, record.args = "error handling a request", ()
        return True


def quiet_parser_errors() -> None:
    """Give aiohttp's server log the filter once (create_app may run more than once)."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(existing, ParserErrorLine) for existing in server_log.filters):
        server_log.addFilter(ParserErrorLine())
