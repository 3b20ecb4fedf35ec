"""Errors a stack raises before it creates anything, with messages a user can act on."""

from __future__ import annotations


class ConfigError(ValueError):
    """Stack configuration is missing or invalid. ``problems`` lists every issue found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid fakewatch stack configuration:\n{lines}")


class ArtifactError(ValueError):
    """The function artifact the stack should deploy is missing or is not the adapter bundle."""
