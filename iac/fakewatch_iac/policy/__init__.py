"""Policy as code for the fakewatch stacks, as cdk-nag is for CDK.

A :class:`Stack` is what a program declared (recorded by :mod:`fakewatch_iac.testing` under
Pulumi's mock engine). A rule is a function from a stack to :class:`Finding` objects; a stack
passes when every rule of its cloud returns none. Rules find resources through the stack's own
wiring (the function's environment, the trigger, the event source), not through names, so they
hold for any program built from these components or not.
"""

from __future__ import annotations

from fakewatch_iac.policy.core import Check, Finding, Resource, Stack, evaluate

__all__ = ["Check", "Finding", "Resource", "Stack", "evaluate"]
