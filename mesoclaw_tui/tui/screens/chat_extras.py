"""What the chat does beside chatting, kept out of screens/chat.py (which calls these from small
hooks): files attached to the next message, a code block of the last reply copied, the
conversation's running cost in the top bar, and the hint when no provider is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The chat screen, which calls these (typed loosely: chat.py imports this module).
ChatScreen = Any

if TYPE_CHECKING:
    from ...engine.attachments import Attachments
    from ...service import ConversationUsage
    from ..widgets.attachments import AttachmentBar


# attachments ---------------------------------------------------------------------------------------------


def attachment_bar(screen: ChatScreen) -> AttachmentBar | None:
    from ..widgets.attachments import AttachmentBar

    found = screen.query(AttachmentBar)
    return found.first() if found else None


def open_attach(screen: ChatScreen) -> None:
    """The attach dialog; the file it returns becomes a chip above the prompt."""
    from .attach import AttachDialog

    async def attached(result: Any) -> None:
        if result is None:
            return
        bar = attachment_bar(screen)
        if bar is None:
            from ..widgets.attachments import AttachmentBar

            bar = AttachmentBar(id="attachments")
            await screen.mount(bar, before=screen.query_one("#prompt"))
        bar.add(result)
        screen.notify(f"{result.name} is attached to the next message ({bar.files[-1].kind}).", timeout=2)

    screen.app.push_screen(AttachDialog(), attached)


def has_attachments(screen: ChatScreen) -> bool:
    bar = attachment_bar(screen)
    return bar is not None and bool(bar.files)


def take_attachments(screen: ChatScreen) -> Attachments | None:
    """The files attached to the message being sent (the chips are cleared: they go with it)."""
    bar = attachment_bar(screen)
    if bar is None or not bar.files:
        return None
    from .attach import attached_files

    return attached_files(bar.clear())


# a code block of the last reply ----------------------------------------------------------------------------


def copy_code_block(screen: ChatScreen) -> None:
    """The code blocks of the latest reply that has any (the last one, unless it had none), to pick one
    and copy it."""
    from ..code_blocks import code_blocks
    from ..widgets.messages import AssistantMessage, StoredReply
    from .code_blocks import CodeBlockPicker

    replies = [w for w in screen.transcript.messages if isinstance(w, AssistantMessage | StoredReply) and w.text]
    blocks = next((found for reply in reversed(replies) if (found := code_blocks(reply.text))), [])
    if not blocks:
        screen.notify("No reply here has a code block." if replies else "There is no reply yet.",
                      severity="warning", timeout=2)
        return

    def copied(block: Any) -> None:
        if block is not None:
            screen.app.copy_to_clipboard(block.code)
            screen.notify(f"Copied the code block ({block.describe()}) to the clipboard (OSC 52).", timeout=2)

    screen.app.push_screen(CodeBlockPicker(blocks), copied)


# the running cost ------------------------------------------------------------------------------------------


def usage_text(usage: ConversationUsage) -> str:
    """`~1.2k tok $0.0042`, `$0.0042 + 1 unpriced`, `cost unknown`; "" before the first reply."""
    if not usage.replies:
        return ""
    approx = "~" if usage.estimated else ""
    tokens = usage.tokens
    shown = f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens)
    if usage.cost_usd is None:
        cost = "cost unknown"
    else:
        from ..format import usd

        cost = f"{approx}{usd(usage.cost_usd)}"  # the label's format: $0.0000584, never 5.8e-05
        if usage.unpriced:
            cost += f" + {usage.unpriced} unpriced"
    return f"{approx}{shown} tok {cost}"


async def show_usage(screen: ChatScreen) -> None:
    """The conversation's tokens and cost so far, in the top bar."""
    from ..widgets.bars import AppBar

    service = screen.host.service
    text = ""
    if service is not None and screen.conversation_id is not None:
        text = usage_text(await service.conversation_usage(screen.conversation_id))
    screen.query_one(AppBar).meter = text


# no provider ------------------------------------------------------------------------------------------------


def no_provider_hint(service: Any) -> str:
    """What to do with no provider configured, naming this config.toml."""
    from ...core.provider_info import no_provider_message
    from ...paths import shown

    return no_provider_message(shown(service.settings.paths.config_path))
