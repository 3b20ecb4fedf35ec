"""Documented exit codes of ``fakewatch scan`` / ``watch --once`` / ``demo`` / ``audit verify``."""

from __future__ import annotations

from collections.abc import Iterable

from fakewatch.labels import Action, Label

OK = 0  # everything scanned, nothing flagged
CRASH = 1  # an unexpected error in fakewatch itself
USAGE = 2  # bad arguments or configuration (also typer's usage errors)
FLAGGED = 3  # something was flagged (action review or quarantine); audit: chain broken
UNSCANNED = 4  # something could not be scanned (label error), nothing flagged
FLAGGED_AND_UNSCANNED = 5  # both


def exit_code(results: Iterable[tuple[Label, Action]]) -> int:
    flagged = unscanned = False
    for label, action in results:
        if label is Label.ERROR:
            unscanned = True
        elif action is not Action.ALLOW:
            flagged = True
    if flagged and unscanned:
        return FLAGGED_AND_UNSCANNED
    return FLAGGED if flagged else UNSCANNED if unscanned else OK
