"""Knowledge decks: the data model, loading with validation, and the lookup engine."""
