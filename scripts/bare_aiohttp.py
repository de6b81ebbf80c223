"""The framework's ceiling: one aiohttp handler that returns constant bytes.

Serves the given body file with the given headers (a JSON file) at every path, on the
same default event loop as `tour serve`, in one process.

Usage: python scripts/bare_aiohttp.py PORT BODY_FILE HEADERS_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aiohttp import web


def main() -> None:
    port = int(sys.argv[1])
    body = Path(sys.argv[2]).read_bytes()
    headers: dict[str, str] = json.loads(Path(sys.argv[3]).read_text(encoding="utf-8"))

    async def constant(request: web.Request) -> web.Response:
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/{path:.*}", constant)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
