"""A command's options checked against its declaration, with one wording for every refusal.

Every refusal says what was wrong, what would work, and shows a working example, whichever
platform the options came from (typed by Discord, parsed from text elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.config import Config
from bot.core.catalog import Args, Command, Kind, Option
from bot.core.names import known_scopes, resolve_scopes
from bot.core.replies import neutralize
from bot.kb.library import Library


class OptionProblem(Exception):
    """An option a person gave cannot be used; the message is written for them."""


def check_options(command: Command, options: Mapping[str, str], config: Config, library: Library,
                  full_name: str) -> Args:
    """The options as typed values, or :class:`OptionProblem` naming the first one that cannot be used.

    ``full_name`` is how the person typed the command ("daily set"), for the messages.
    """
    values: dict[str, object] = {}
    for option in command.options:
        values[option.name] = _check(option, options.get(option.name), command, options, config, library,
                                     full_name)
    return Args(values)


def _check(option: Option, raw: str | None, command: Command, given: Mapping[str, str], config: Config,
           library: Library, full_name: str) -> object:
    example = f"Example: `{command.example}`."
    problem = option.check(raw or "") if option.check else None  # its own words, also for a missing value
    if problem:
        raise OptionProblem(problem)
    if raw is None or (raw == "" and not option.keyed):
        if option.required:
            raise OptionProblem(f"`{full_name}` needs `{option.name}` ({option.description}). {example}")
        return option.default(config) if option.default else None
    if option.kind is Kind.NUMBER:
        return _number(option, raw, config, example)
    if option.kind is Kind.CHOICE:
        return _choice(option, raw, full_name)
    if option.kind is Kind.TOPIC:
        return _topic(option, raw, command, given, library, full_name)
    if option.max_length is not None and len(raw) > option.max_length:
        raise OptionProblem(f"`{option.name}` is {len(raw)} characters long; please keep it under "
                            f"{option.max_length + 1}. {example}")
    return raw


def _number(option: Option, raw: str, config: Config, example: str) -> int:
    assert option.bounds is not None, f"number option {option.name} declares no bounds"
    low, high = option.bounds(config)
    if raw == "":
        raise OptionProblem(f"`{option.name}` needs a whole number from {low} to {high} after it. {example}")
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise OptionProblem(f"`{option.name}` must be a whole number from {low} to {high}; got "
                            f"`{neutralize(raw)}`. {example}")
    return int(raw)


def _choice(option: Option, raw: str, full_name: str) -> str:
    choice = option.choice(raw)
    if choice is None:
        raise OptionProblem(choice_problem(option, full_name))
    return choice.value


def choice_problem(option: Option, full_name: str) -> str:
    """What a choice option allows, with an example."""
    return (f"Choose a {option.name}: {', '.join(c.value for c in option.choices)} "
            f"(e.g. `{full_name} {option.example or option.choices[0].value}`).")


def _topic(option: Option, raw: str, command: Command, given: Mapping[str, str], library: Library,
           full_name: str) -> str:
    shown = neutralize(raw)
    if not raw.strip():
        raise OptionProblem(f"`{option.name}` needs a topic or deck after it, e.g. `{full_name} {option.example}`.")
    scopes = resolve_scopes(library, raw)
    if len(scopes) == 1:
        return scopes[0]
    if scopes:
        listed = ", ".join(f"`{s}`" for s in scopes[:10])
        raise OptionProblem(f"`{shown}` could mean {len(scopes)} topics: {listed}. Say which one, e.g. "
                            f"`{full_name} {scopes[0]}`.")
    # One unknown word where a choice could stand ("leaderboard yesterday") was most likely meant as that.
    unset = [o for o in command.options if o.kind is Kind.CHOICE and o.guess and o.name not in given]
    if unset and len(raw.split()) == 1:
        raise OptionProblem(choice_problem(unset[0], full_name))
    raise OptionProblem(f"I don't know the topic `{shown}`. Topics and decks: {', '.join(known_scopes(library))} "
                        f"(e.g. `{full_name} {option.example}`).")
