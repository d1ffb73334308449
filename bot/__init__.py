"""StudyBot: concept lookup, quiz rounds and daily challenges for team chat."""

__version__ = "0.1.0"
