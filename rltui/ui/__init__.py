"""Textual widgets and screens that render :class:`rltui.model.snapshot.RunSnapshot` and turn keys into intents."""
