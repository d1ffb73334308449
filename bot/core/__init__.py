"""What the bot does, in neutral events and replies; knows nothing of any chat platform."""
