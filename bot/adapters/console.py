"""The console adapter: chat in a terminal or through a pipe, no tokens, no network.

Commands are typed as in chat (``/ask what is dropout``). Buttons are shown as numbers and
pressed by typing the number (Rasa's text fallback). ``/as NAME`` switches the simulated user,
so one person can try a multi-user round. At end of input, rounds this console started are
revealed before it exits, so a piped script always sees its results.

Replies are printed as plain text: Markdown bold is dropped (outside code blocks), the footer
goes in parentheses, and a body line that repeats a button's label (a quiz choice) is shown
once, as the numbered button, so nobody wonders whether to type ``A`` or ``1``.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
import threading
from collections.abc import AsyncIterator
from typing import TextIO

from bot.core.app import StudyBot
from bot.core.events import ButtonEvent, Channel, CommandEvent, User, parse_command
from bot.core.replies import Button, Capabilities, Reply
from bot.typed_text import decode_line, undecodable

PLATFORM = "console"
CHANNEL = Channel(PLATFORM, "local", "console")
GREETING = ("StudyBot console. Type /help for commands, /as NAME to switch user, a number to press a button, "
            "/quit to leave.")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


class ConsoleAdapter:
    """Reads lines, hands them to the core, prints what comes back."""

    capabilities = Capabilities(buttons=True, ephemeral=False, edits=False, shared_channels=False)

    def __init__(self, bot: StudyBot, out: TextIO = sys.stdout, user: str = "you") -> None:
        self.bot = bot
        self.out = out
        self.user = self._user(user)
        self.buttons: list[Button] = []
        self._messages = 0
        bot.attach(PLATFORM, self)

    @staticmethod
    def _user(name: str) -> User:
        # The person at the console owns this local workspace, so they may run admin commands.
        return User(PLATFORM, "local", name.casefold(), name, is_admin=True)

    async def post(self, channel: Channel, reply: Reply) -> str | None:
        """Outbox: messages the core posts on its own (rounds, reveals) are printed too."""
        self._show(reply)
        self._messages += 1
        return str(self._messages)

    async def edit(self, channel: Channel, message_id: str, reply: Reply) -> None:
        """Never called: a terminal cannot change what it printed (``edits=False``); the reveal is posted anew."""

    async def handle_line(self, line: str | bytes) -> bool:
        """Handles one line of input (bytes are read as UTF-8); False when the user asked to quit."""
        if isinstance(line, bytes):
            line, problem = decode_line(line)
        else:
            problem = undecodable(line)
        if problem:
            self._print(f"That line was not read: it is {problem}. Please type it again.")
            return True
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        if text.split()[0] == "/as":
            name = text[3:].strip()
            if name:
                self.user = self._user(name)
                self._print(f"(you are now {name})")
            else:
                self._print("Usage: /as NAME")
            return True
        if text.isdigit():
            await self._press(int(text))
            return True
        name, options = parse_command(text)
        for reply in await self.bot.handle_command(CommandEvent(self.user, CHANNEL, name, options)):
            self._show(reply)
        return True

    async def _press(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self._print(f"There is no button {number}." if self.buttons else "There are no buttons to press.")
            return
        event = ButtonEvent(self.user, CHANNEL, self.buttons[number - 1].id)
        for reply in await self.bot.handle_button(event):
            self._show(reply)

    async def run(self, stream: TextIO = sys.stdin) -> None:
        """Reads until end of input or /quit, then reveals rounds still open here."""
        self._print(GREETING)
        async for line in read_lines(stream):
            if not await self.handle_line(line):
                break
        await self.bot.close_open_rounds({CHANNEL})

    def _show(self, reply: Reply) -> None:
        if reply.buttons:
            self.buttons = list(reply.buttons)
        self._print(render(reply, self.user.display_name))

    def _print(self, text: str) -> None:
        self.out.write(text.rstrip() + "\n\n")
        self.out.flush()


async def read_lines(stream: TextIO) -> AsyncIterator[str | bytes]:
    """The lines of ``stream``, read without blocking the event loop or the process's exit.

    A terminal or pipe is read by a daemon thread with ``os.read`` on its descriptor. A
    ``readline`` in asyncio's executor would do for reading, but the executor is joined when
    the loop closes, so Ctrl-C would stop the bot and then wait for one more line to be typed.
    Lines from a descriptor come as bytes, so each is decoded on its own and one that is not
    UTF-8 is refused by name (``handle_line``). A stream without a descriptor (a StringIO in
    tests) is read directly.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        while text := stream.readline():
            yield text
        return
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue()

    def pump() -> None:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, data or None)
            except RuntimeError:  # the loop is closed: the bot has stopped
                return
            if not data:
                return

    threading.Thread(target=pump, name="console-input", daemon=True).start()
    pending = b""
    while (data := await chunks.get()) is not None:
        *lines, pending = (pending + data).split(b"\n")
        for raw in lines:
            yield raw + b"\n"
    if pending:
        yield pending


def render(reply: Reply, reader: str) -> str:
    """``reply`` as terminal text for ``reader``; buttons are numbered from 1 in the order given."""
    labels = {b.label for b in reply.buttons}
    lines = [f"(private to {reader})"] if reply.ephemeral else []
    if reply.title:
        lines.append(reply.title)
    lines.extend(line for line in _plain(reply.body) if not line.strip() or line.strip() not in labels)
    while lines and not lines[-1].strip():
        lines.pop()
    lines.extend(f"{field.name}: {field.value}" for field in reply.fields)
    lines.extend(f"  [{i}] {button.label}" for i, button in enumerate(reply.buttons, 1))
    if reply.footer:
        lines.append(f"({reply.footer})")
    return "\n".join(lines)


def _plain(markdown: str) -> list[str]:
    """Lines with ``**bold**`` markers removed, except inside fenced code (``f(**kwargs)``)."""
    lines, in_code = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        lines.append(line if in_code else _BOLD.sub(r"\1", line))
    return lines
