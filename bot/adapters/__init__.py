"""One folder per chat platform: translate platform events to core events and core replies back."""
