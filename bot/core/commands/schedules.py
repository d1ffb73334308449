"""``daily set/show/off``: the channel's daily challenge schedule (firing it lives in bot.core.daily)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.catalog import Args
from bot.core.events import CommandEvent
from bot.core.replies import Reply, neutralize, plural
from bot.core.schedule import ScheduleInputError, parse_local_time, parse_zone
from bot.store.base import Schedule

if TYPE_CHECKING:
    from bot.core.app import StudyBot

EXAMPLE = "daily set 09:00 Europe/Berlin"


async def show(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """This channel's schedule, or how to set one."""
    schedule = await bot.store.schedule_for(event.channel)
    if schedule is None:
        return [Reply(f"No daily challenge is scheduled in this channel. Set one with `{EXAMPLE}`.", ephemeral=True)]
    return [Reply(describe_schedule(schedule), ephemeral=True)]


async def off(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Stops this channel's daily challenge."""
    done = await bot.store.disable_schedule(event.channel)
    return [Reply("Daily challenge turned off for this channel." if done
                  else "There was no daily challenge in this channel.", ephemeral=True)]


async def set_daily(bot: StudyBot, event: CommandEvent, args: Args) -> list[Reply]:
    """Schedules (or moves) this channel's daily challenge; the zone becomes the workspace's."""
    try:
        at = parse_local_time(args.text("time") or "")
        zone = parse_zone(args.text("timezone") or "")
    except ScheduleInputError as exc:
        # The message quotes what the admin typed, which may be "@everyone".
        return [Reply(f"{neutralize(str(exc))} Example: `{EXAMPLE}`.", ephemeral=True)]
    schedule = await bot.store.save_schedule(event.channel, f"{at:%H:%M}", zone.key, args.number("questions"),
                                             args.text("topic"), bot.clock.now(), typed=args.text("mode") == "typed")
    await bot.store.set_workspace_timezone(event.user.platform, event.user.workspace, zone.key)
    return [Reply(f"Scheduled. {describe_schedule(schedule)} Leaderboard days and weeks now follow {zone.key}.",
                  ephemeral=True)]


def describe_schedule(schedule: Schedule) -> str:
    """One sentence: when, where, how many questions, on what."""
    topic = f" on `{schedule.topic}`" if schedule.topic else ""
    typed = ", answered by typing" if schedule.typed else ""
    return (f"Daily challenge here at {schedule.local_time} {schedule.timezone}: "
            f"{plural(schedule.questions, 'question')}{topic}{typed}.")
