"""The console adapter: chat in a terminal or through a pipe, no tokens, no network.

Commands are typed as in chat (``/ask what is dropout``). Buttons are shown as numbers and
pressed by typing the number (Rasa's text fallback): while a round is open here, a number (or
its letter, A–E) answers that round, whatever was printed since; otherwise it presses the
latest message's buttons. ``/as NAME`` switches the simulated user, so one person can try a
multi-user round; admins are ``[console] admins``, by default only the first user. At end of
input (or ``/quit``) every round still open here is revealed, practice ones included, so a
piped script always sees its results. On a terminal, lines are read with readline (history).

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
from collections.abc import AsyncIterator, Callable
from typing import TextIO

from bot.config import Config
from bot.core import buttons
from bot.core.app import StudyBot
from bot.core.buttons import AnswerPress, RoundPress
from bot.core.events import ButtonEvent, Channel, CommandEvent, TextSubmitEvent, User
from bot.core.parsing import parse_command
from bot.core.replies import Button, Capabilities, Field, Reply, TextInput
from bot.core.rounds import practice_reveal
from bot.typed_text import decode_line, undecodable

PLATFORM = "console"
CHANNEL = Channel(PLATFORM, "local", "console")
GREETING = ("StudyBot console. Type /help for commands, /as NAME to switch user, a number to press a button, "
            "/quit to leave.")
# The console's own commands, added to the core's help.
CONSOLE_HELP = ("Console:\n"
                "`/as NAME` — switch to another user (to try a round with several people)\n"
                "`/quit` — leave; rounds still open here are revealed first (so does the end of piped input)\n"
                "`1`, `2`, … — press a button: answers the open round, else the latest message's buttons\n"
                "`A`–`E` — answer the open round by its letter\n"
                "After pressing **Answer** in a typed round, the next line is your answer")
LETTERS = "ABCDE"
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_NUMBERED = re.compile(r"(\d+)\. (.+)")


class ConsoleAdapter:
    """Reads lines, hands them to the core, prints what comes back."""

    capabilities = Capabilities(edits=False, shared_channels=False)

    def __init__(self, bot: StudyBot, out: TextIO = sys.stdout, user: str = "you") -> None:
        self.bot = bot
        self.out = out
        # The person at the console owns this local workspace: the first user is its admin unless
        # [console] admins names others.
        self.admins = {name.casefold() for name in bot.config.console.admins} or {user.casefold()}
        self.user = self._user(user)
        self.buttons: list[Button] = []  # the latest message's buttons
        self.rounds: dict[int, list[Button]] = {}  # the buttons of each round shown, oldest first
        self.asking: TextInput | None = None  # a text field the core asked for: the next line fills it
        self._messages = 0
        bot.attach(PLATFORM, self)

    def _user(self, name: str) -> User:
        return User(PLATFORM, "local", name.casefold(), name, is_admin=name.casefold() in self.admins)

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
        if self.asking is not None and not text.startswith("/"):
            asked, self.asking = self.asking, None
            for reply in await self.bot.handle_text(TextSubmitEvent(self.user, CHANNEL, asked.id, text)):
                self._show(reply)
            return True
        self.asking = None  # a command instead of the answer: the field is dropped, as closing a modal
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
        if len(text) == 1 and text.upper() in LETTERS:
            await self._answer_letter(text.upper())
            return True
        name, options = parse_command(text)
        for reply in await self.bot.handle_command(CommandEvent(self.user, CHANNEL, name, options)):
            self._show(reply)
        if name == "help":
            self._print(CONSOLE_HELP)
        return True

    def _open_round(self) -> list[Button] | None:
        """The answer buttons of the latest round shown here that is still open (practice: only its owner's)."""
        for round_id in reversed(self.rounds):
            record = self.bot.quiz.open.get(round_id)
            if record is not None and record.owner_id in (None, self.user.user_id):
                return self.rounds[round_id]
        return None

    async def _press(self, number: int) -> None:
        choices = self._open_round()
        shown = choices if choices is not None else self.buttons
        if not 1 <= number <= len(shown):
            if choices is not None:
                self._print(f"The open round has choices 1 to {len(choices)} (or A to {LETTERS[len(choices) - 1]}).")
            else:
                self._print(f"There is no button {number}." if shown else "There are no buttons to press.")
            return
        await self._send_press(shown[number - 1])

    async def _answer_letter(self, letter: str) -> None:
        shown = self._open_round()
        choices = [b for b in shown if isinstance(buttons.parse(b.id), AnswerPress)] if shown is not None else None
        if not choices:
            self._print(f"There is no open round to answer with {letter}. Start one with /quiz."
                        if choices is None else "The open round is answered by typing: press its Answer button.")
        elif LETTERS.index(letter) >= len(choices):
            self._print(f"The open round has choices A to {LETTERS[len(choices) - 1]}.")
        else:
            await self._send_press(choices[LETTERS.index(letter)])

    async def _send_press(self, button: Button) -> None:
        for reply in await self.bot.handle_button(ButtonEvent(self.user, CHANNEL, button.id)):
            self._show(reply)

    async def run(self, stream: TextIO = sys.stdin) -> None:
        """Reads until end of input or /quit, then reveals rounds still open here."""
        self._print(GREETING)
        async for line in read_lines(stream):
            if not await self.handle_line(line):
                break
        await self.reveal_open_rounds()

    async def reveal_open_rounds(self) -> None:
        """Every round still open here: practice answers shown (the core keeps those private), then the rest."""
        for record in [r for r in self.bot.quiz.open.values() if r.channel == CHANNEL and r.kind == "practice"]:
            card = self.bot.quiz.card_of(record)
            if card is not None:
                self._show(practice_reveal(card))
        await self.bot.close_open_rounds({CHANNEL})

    def _show(self, reply: Reply) -> None:
        if reply.buttons:
            self.buttons = list(reply.buttons)
            presses = [buttons.parse(b.id) for b in reply.buttons]
            if all(isinstance(p, AnswerPress | RoundPress) for p in presses):
                round_ids = {p.round_id for p in presses if isinstance(p, AnswerPress | RoundPress)}
                self.rounds[round_ids.pop()] = list(reply.buttons)
        if reply.text_input is not None:
            self.asking = reply.text_input
        self._print(render(reply, self.user.display_name))

    def _print(self, text: str) -> None:
        self.out.write(text.rstrip() + "\n\n")
        self.out.flush()


async def run_console(bot: StudyBot, config: Config) -> None:
    """The registry's entry point: a console on this terminal until its input ends."""
    await ConsoleAdapter(bot).run()


async def read_lines(stream: TextIO) -> AsyncIterator[str | bytes]:
    """The lines of ``stream``, read without blocking the event loop or the process's exit.

    A terminal or pipe is read by a daemon thread: a pipe with ``os.read`` on its descriptor, a
    terminal through readline (line editing, and the arrow keys recall earlier lines). A
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

    read = _terminal_reader(stream) or (lambda: os.read(fd, 65536))

    def pump() -> None:
        while True:
            try:
                data = read()
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


def _terminal_reader(stream: TextIO) -> Callable[[], bytes] | None:
    """For standard input on a terminal: a line read with readline, as bytes (b"" at end of input)."""
    if stream is not sys.stdin or not stream.isatty():
        return None
    import readline  # noqa: F401  (importing it gives input() line editing and history)

    def read() -> bytes:
        try:
            return (input() + "\n").encode("utf-8", "surrogateescape")
        except EOFError:
            return b""
        except UnicodeDecodeError:
            return b"\xff\n"  # refused by name in handle_line, like a piped line that is not UTF-8

    return read


def render(reply: Reply, reader: str) -> str:
    """``reply`` as terminal text for ``reader``; buttons are numbered from 1 in the order given.

    A body line that repeats a button's label, bare ("A. yes") or numbered ("2. What is a
    tensor?"), is shown once, as the numbered button; a numbered line lends the button its full
    text when the label was cut to a platform's limit (a terminal has none).
    """
    labels = {b.label for b in reply.buttons}
    full: dict[int, str] = {}
    body: list[str] = []
    for line in _plain(reply.body):
        number = _NUMBERED.match(line.strip())
        index = int(number.group(1)) if number else 0
        if number and 1 <= index <= len(reply.buttons) and \
                number.group(2).startswith(reply.buttons[index - 1].label.rstrip("…").rstrip()):
            full[index] = number.group(2)
        elif not line.strip() or line.strip() not in labels:
            body.append(line)
    lines = [f"(private to {reader})"] if reply.ephemeral else []
    if reply.title:
        lines.append(reply.title)
    lines.extend(body)
    while lines and not lines[-1].strip():
        lines.pop()
    lines.extend(_field(field) for field in reply.fields)
    lines.extend(f"  [{i}] {full.get(i, button.label)}" for i, button in enumerate(reply.buttons, 1))
    if reply.footer:
        lines.append(f"({reply.footer})")
    if reply.text_input is not None:
        lines.append(f"{reply.text_input.title}: type it on the next line (a /command instead cancels).")
    return "\n".join(lines)


def _field(field: Field) -> str:
    """``name: value``; a code block (a heatmap) starts on its own line, without its fences."""
    if "```" not in field.value:
        return f"{field.name}: {field.value}"
    kept = [line for line in field.value.splitlines() if not line.strip().startswith("```")]
    return f"{field.name}:\n" + "\n".join(kept)


def _plain(markdown: str) -> list[str]:
    """Lines with ``**bold**`` markers removed, except inside fenced code (``f(**kwargs)``)."""
    lines, in_code = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        lines.append(line if in_code else _BOLD.sub(r"\1", line))
    return lines
