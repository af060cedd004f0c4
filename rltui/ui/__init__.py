"""Textual widgets and screens that render run snapshots and turn keys into intents."""
