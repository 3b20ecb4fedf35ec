"""``python -m fakewatch_cost``: the ``fakewatch cost`` commands without the core CLI."""

from __future__ import annotations

from fakewatch_cost.cli import app

if __name__ == "__main__":
    app(prog_name="fakewatch cost")
