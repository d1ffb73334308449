"""Allows ``python -m bot``."""

from bot.cli import program

program()
