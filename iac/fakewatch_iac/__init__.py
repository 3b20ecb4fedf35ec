"""fakewatch_iac: shared Pulumi ComponentResources and policy checks for the fakewatch stacks.

One Pulumi project per cloud (``iac/aws``, ``iac/gcp``, ``iac/azure``) builds its stack from the
components in :mod:`fakewatch_iac.aws`, :mod:`fakewatch_iac.gcp` and :mod:`fakewatch_iac.azure`,
configured by :mod:`fakewatch_iac.config`. :mod:`fakewatch_iac.policy` holds the policy-as-code
checks the test-suite runs against every stack. This package imports neither the fakewatch core
nor the providers.
"""

from __future__ import annotations

from fakewatch_iac.errors import ArtifactError, ConfigError

__all__ = ["ArtifactError", "ConfigError"]
