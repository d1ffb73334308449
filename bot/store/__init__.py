"""Storage: the interface the core talks to, and its SQLite implementation."""
