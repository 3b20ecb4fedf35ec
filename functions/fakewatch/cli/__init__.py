"""The ``fakewatch`` command line (typer + rich)."""
