"""`mesoclaw serve`: the local OpenAI-compatible endpoint (see mesoclaw_tui/server/ and docs/serve.md)."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    cli.add_command(serve)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --token.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed at start).")
@click.option("--token", envvar="MESOCLAW_SERVE_TOKEN", metavar="TOKEN",
              help="Require 'Authorization: Bearer TOKEN' on /v1 (also $MESOCLAW_SERVE_TOKEN, which keeps it out "
                   "of `ps`).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]), help="Server log level.")
@click.option("--access-log", is_flag=True, help="Log every request (to stderr).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, token: str | None, log_level: str, access_log: bool) -> None:
    """Serve an OpenAI-compatible API that routes every request.

    Point any OpenAI client at http://HOST:PORT/v1 and ask for model mesoclaw/auto (the active
    profile), mesoclaw/eco|balanced|premium, or a specific model such as openai:gpt-4o.
    Stop with Ctrl+C or SIGTERM (requests in flight get 10 s to finish).
    """
    import asyncio
    import signal

    from ..server import bind, check_bind, url_of
    from ..server import serve as run_server
    from . import output as out

    token = token or None
    check_bind(host, token)
    sock = bind(host, port)
    url = url_of(sock)
    out.echo(f"mesoclaw serve: {url}/v1 (OpenAI-compatible; model mesoclaw/auto routes every request"
             f"{'; bearer token required' if token else ''}). Ctrl+C to stop.")
    # uvicorn handles SIGINT/SIGTERM itself (a graceful shutdown), then restores these handlers and
    # raises the signal again: with them a stop is a clean exit 0, not death by signal.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        asyncio.run(run_server(sock, db=ctx.find_root().params.get("db"), token=token, log_level=log_level,
                               access_log=access_log))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


def _stopped(signum: int, frame: object) -> None:
    """The re-raised stop signal: the server has already shut down."""
