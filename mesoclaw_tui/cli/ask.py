"""`mesoclaw ask`: the headless agent turn. Text to stdout as it arrives; the routing line to stderr."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from ..core.failures import FailureKind
from ..core.types import MesoclawError
from . import output as out
from .main import EXIT_ALL_FAILED, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_NO_PROVIDER, ExitCode, json_option

# The request itself cannot be served as it is (too large for every model's context window, or a
# provider refused it as invalid): change it rather than retry.
EXIT_REQUEST_REFUSED = 5

FLUSH_EVERY_S = 0.02  # flush stdout at most this often: smooth for people, cheap for 50k deltas/s
# stdout closed by its reader (`mesoclaw ask … | head -c 10`): the shell's code for a death by SIGPIPE.
EXIT_BROKEN_PIPE = 141


def clean_text(text: str) -> str:
    """Text as valid Unicode: bytes that were not UTF-8 (kept by Python as surrogates) become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_stdin() -> str:
    """All of stdin as text; bytes that are not UTF-8 become U+FFFD instead of an error."""
    try:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text-only stdin (tests replace it with StringIO)
            return clean_text(sys.stdin.read())
        return stream.read().decode("utf-8", "replace")
    except OSError:  # a closed or unreadable stdin is no input, not a failure
        return ""


def read_prompt(prompt: str | None) -> str:
    """The prompt from the argument, stdin, or both (stdin appended as context)."""
    piped = None if sys.stdin is None or sys.stdin.isatty() else read_stdin()
    prompt = clean_text(prompt) if prompt else prompt
    if prompt and piped and piped.strip():
        return f"{prompt}\n\n{piped}"
    text = prompt or piped or ""
    if not text.strip():
        raise MesoclawError('give a prompt, e.g. mesoclaw ask "explain this error", or pipe text to stdin')
    return text


@click.command()
@click.argument("prompt", required=False)
@click.option("--task", help="Skip classification: code, general, fast, creative or analysis.")
@click.option("--profile", help="Route with this profile: eco, balanced or premium.")
@click.option("--model", help="Skip routing and use this model (e.g. gpt-4o or openrouter:openai/gpt-4o).")
@click.option("--system", help="A system prompt.")
@click.option("--continue", "continue_last", is_flag=True, help="Continue the last conversation.")
@click.option("--no-stream", is_flag=True, help="Print the reply once it is complete.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Longest reply, in tokens.")
@click.option("-q", "--quiet", is_flag=True, help="No routing line on stderr.")
@json_option
@click.pass_context
def ask(ctx: click.Context, prompt: str | None, task: str | None, profile: str | None, model: str | None,
        system: str | None, continue_last: bool, no_stream: bool, max_tokens: int | None, quiet: bool,
        as_json: bool) -> None:
    """Ask one question; the router picks the model. PROMPT or stdin (or both: stdin is context).

    Exit codes: 0 a complete reply; 1 the reply broke off mid-stream (the partial text is printed
    and kept); 2 bad input; 3 no provider configured; 4 no model available, or every candidate
    failed (one stderr line per attempt); 5 the request was refused as it is: too large for every
    model's context window, or rejected by the provider as invalid (change it, do not retry);
    130 interrupted; 141 stdout closed by its reader (the reply so far is kept, marked cancelled).
    """
    import asyncio

    from ..core.types import parse_profile, parse_task

    if task:
        parse_task(task)
    if profile:
        parse_profile(profile)
    text = read_prompt(prompt)
    stream_text = not (no_stream or as_json)
    state: dict = {}
    try:
        reply = asyncio.run(_run(ctx, text, task, profile, model, system, continue_last, max_tokens, stream_text,
                                 quiet or as_json, state))
    except BrokenPipeError:
        _stdout_closed()
    except KeyboardInterrupt:
        partial = state["engine"].interrupted_reply if "engine" in state else None
        if as_json and partial is not None:
            out.emit_json(partial.as_dict())
        raise ExitCode(EXIT_INTERRUPTED, "interrupted" + ("; the partial reply is kept" if partial and partial.text
                                                          else "")) from None
    try:
        if as_json:
            out.emit_json(reply.as_dict() | {"text": reply.text})
        elif not stream_text and reply.text:
            sys.stdout.write(reply.text + ("" if reply.text.endswith("\n") else "\n"))
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_closed()
    _exit_for(reply)


def _stdout_closed() -> None:
    """The reader of stdout went away: end quietly with the shell's SIGPIPE code. The reply so far was
    recorded as cancelled when the stream was closed; point stdout at /dev/null so Python's own flush
    at exit does not complain about the pipe a second time."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test's captured stdout)
        pass
    raise ExitCode(EXIT_BROKEN_PIPE)


async def _run(ctx, text, task, profile, model, system, continue_last, max_tokens, stream_text, quiet, state):
    from ..engine import Engine, Turn
    from ..service import RouterService

    service = await RouterService.open(ctx.find_root().params.get("db"))
    engine = state["engine"] = Engine(service)
    writer = _Writer() if stream_text else None
    try:
        turn = Turn(text, source="ask", continue_last=continue_last, system=system, task=task, profile=profile,
                    model=model, max_tokens=max_tokens)
        reply, printed = await _stream(engine, turn, writer, quiet)
        if reply.status == "failed":
            # One line per attempt: those not shown as they happened (all of them with -q or --json).
            for attempt in reply.attempts:
                if attempt.number not in printed:
                    _err(attempt_line(attempt.number, attempt))
        if writer:
            writer.finish()
        if not quiet and reply.provider:
            _err(routing_line(reply))
        return reply
    except BaseException:
        if writer:
            with contextlib.suppress(BrokenPipeError):
                writer.finish()
        raise
    finally:
        await engine.aclose()
        await service.close()


async def _stream(engine, turn, writer, quiet) -> tuple:
    """The reply's text to stdout as it arrives, each failed attempt to stderr as it happens."""
    from ..engine import Delta, FellBack, Finished, Retrying

    reply = None
    printed: set[int] = set()
    # aclosing: when printing fails (stdout closed), the engine settles the reply (kept, marked
    # cancelled) now, while the database is still open, not when the loop is torn down.
    async with contextlib.aclosing(engine.stream(turn)) as events:
        async for event in events:
            if type(event) is Delta:
                if writer:
                    writer.write(event.text)
            elif isinstance(event, FellBack | Retrying) and not quiet:
                printed.add(event.attempt.number)
                _err(attempt_line(event.attempt.number, event.attempt))
            elif isinstance(event, Finished):
                reply = event.reply
    return reply, printed


def routing_line(reply) -> str:
    fallbacks = ", ".join(f"{a.provider}:{a.model} {a.outcome}" for a in reply.fallbacks)
    cost = "cost unknown" if reply.cost_usd is None else f"${reply.cost_usd:.6f}"
    tokens = f"{'~' if reply.estimated else ''}{reply.input_tokens}+{reply.output_tokens} tokens"
    return (f"{reply.task.value} -> {reply.provider}:{reply.model} ({reply.profile.value}; {tokens}; {cost}"
            + (f"; fallbacks: {fallbacks}" if fallbacks else "") + ")")


def _every_candidate_failed(reply) -> str:
    count = len(reply.attempts)
    return f"every candidate failed ({count} attempt{'' if count == 1 else 's'})"


def _said(reply) -> str:
    return reply.error or "the request failed"


# A failed reply -> the exit code and the last line on stderr (the attempts were printed above it).
EXITS: dict[FailureKind, tuple[int, Callable[[Any], str]]] = {
    FailureKind.NO_PROVIDER: (EXIT_NO_PROVIDER, _said),
    FailureKind.NO_AVAILABLE_MODEL: (EXIT_ALL_FAILED, _said),
    FailureKind.ALL_FAILED: (EXIT_ALL_FAILED, _every_candidate_failed),
    FailureKind.CONTEXT_TOO_LARGE: (EXIT_REQUEST_REFUSED, _said),
    FailureKind.BAD_REQUEST: (EXIT_REQUEST_REFUSED, _said),
    FailureKind.INCOMPLETE: (EXIT_FAILURE, lambda reply: f"reply incomplete (the partial text is kept): {reply.error}"),
    FailureKind.CANCELLED: (EXIT_INTERRUPTED, lambda reply: "interrupted"),
}


def _exit_for(reply) -> None:
    if reply.failure is not None:
        code, say = EXITS[reply.failure]
        raise ExitCode(code, say(reply))


def attempt_line(number: int, a) -> str:
    return f"attempt {number}: {a.provider}:{a.model} {a.outcome}" + (f": {a.error}" if a.error else "")


def _err(message: str) -> None:
    sys.stderr.write(f"mesoclaw: {message}\n")
    sys.stderr.flush()


class _Writer:
    """Streams text to stdout, flushing on a short timer instead of per delta."""

    def __init__(self) -> None:
        self.stdout = sys.stdout
        self.last_flush = time.monotonic()
        self.wrote_any = False
        self.last = ""

    def write(self, text: str) -> None:
        self.stdout.write(text)
        self.wrote_any = True
        self.last = text
        now = time.monotonic()
        if now - self.last_flush >= FLUSH_EVERY_S:
            self.stdout.flush()
            self.last_flush = now

    def finish(self) -> None:
        if self.wrote_any and not self.last.endswith("\n"):
            self.stdout.write("\n")
        try:
            self.stdout.flush()
        except BrokenPipeError:
            pass


def register(cli: click.Group) -> None:
    cli.add_command(ask)
