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
@click.option("--allow-origin", "allow_origins", multiple=True, metavar="ORIGIN",
              help="Let web pages from ORIGIN (scheme://host[:port]) call the server, with CORS; needs --token. "
                   "Repeatable. Other pages' requests are refused (403), loopback pages excepted.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Also answer requests addressed to the DNS name NAME (Host header); needs --token. "
                   "Repeatable. Served without it: localhost and IP addresses (any with a non-loopback "
                   "--host), and this machine's name.")
@click.option("--max-body", default="10MB", show_default=True, metavar="SIZE",
              help="Largest request body (e.g. 512KB, 10MB); larger is refused with 413 before it is read.")
@click.option("--header-timeout", default=10.0, show_default=True, type=float, metavar="SECONDS",
              help="Time a connection has to send a whole request head, else it is closed.")
@click.option("--body-timeout", default=30.0, show_default=True, type=float, metavar="SECONDS",
              help="Time a request has to send its whole body, else 408.")
@click.option("--send-timeout", default=60.0, show_default=True, type=float, metavar="SECONDS",
              help="Time a client may leave its response unread before it is disconnected (and its request "
                   "cancelled).")
@click.option("--max-connections", default=1000, show_default=True, type=int, metavar="N",
              help="Open connections at most; past it the one waiting longest for its request is closed.")
@click.option("--max-concurrent", default=16, show_default=True, type=int, metavar="N",
              help="Requests talking to providers at once (1-50); more wait in a queue.")
@click.option("--max-queue", default=64, show_default=True, type=int, metavar="N",
              help="Requests that may wait for a place; past it 503 with Retry-After.")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]), help="Server log level.")
@click.option("--access-log", is_flag=True, help="Log every request (to stderr).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, token: str | None, allow_origins: tuple[str, ...],
          allow_hosts: tuple[str, ...], max_body: str, header_timeout: float, body_timeout: float,
          send_timeout: float, max_connections: int, max_concurrent: int, max_queue: int, log_level: str,
          access_log: bool) -> None:
    """Serve an OpenAI-compatible API that routes every request.

    Point any OpenAI client at http://HOST:PORT/v1 and ask for model mesoclaw/auto (the active
    profile), mesoclaw/eco|balanced|premium, or a specific model such as openai:gpt-4o.
    Stop with Ctrl+C or SIGTERM (requests in flight get 10 s to finish).
    """
    import signal

    from ..server import Access, Limits, bind, check_bind, parse_size, run, url_of
    from ..server import serve as run_server
    from . import output as out

    token = token or None
    check_bind(host, token)
    access = Access.build(host, token, allow_origins, allow_hosts)
    limits = Limits(max_body=parse_size(max_body), header_timeout=header_timeout, body_timeout=body_timeout,
                    send_timeout=send_timeout, max_connections=max_connections, max_concurrent=max_concurrent,
                    max_queue=max_queue)
    sock = bind(host, port)
    url = url_of(sock)
    out.echo(f"mesoclaw serve: {url}/v1 (OpenAI-compatible; model mesoclaw/auto routes every request"
             f"{'; bearer token required' if token else ''}). Ctrl+C to stop.")
    # uvicorn handles SIGINT/SIGTERM itself (a graceful shutdown), then restores these handlers and
    # raises the signal again: with them a stop is a clean exit 0, not death by signal.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        run(run_server(sock, db=ctx.find_root().params.get("db"), token=token, access=access,
                       limits=limits, log_level=log_level, access_log=access_log))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


def _stopped(signum: int, frame: object) -> None:
    """The re-raised stop signal: the server has already shut down."""
