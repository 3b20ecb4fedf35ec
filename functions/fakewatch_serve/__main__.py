"""``python -m fakewatch_serve run --contract sagemaker``: the containers' entrypoint."""

from __future__ import annotations

from fakewatch_serve.cli import app

if __name__ == "__main__":
    app(prog_name="fakewatch_serve")
