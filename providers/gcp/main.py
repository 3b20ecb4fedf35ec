"""Cloud Run functions entry point: a functions-framework CloudEvent function.

Deploy with ``--entry-point scan_object`` and an Eventarc trigger on
``google.cloud.storage.object.v1.finalized`` for the input bucket (retries on). The instance
is wired once, here at import (its cold start); each event then goes through the core.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from fakewatch_gcp.handler import handle_cloud_event
from fakewatch_gcp.runtime import get_runtime

get_runtime()  # one-time init per instance: clients, policy, scanner


@functions_framework.cloud_event
def scan_object(cloud_event: CloudEvent) -> None:
    """Scan the object a Cloud Storage event announces; raise so Eventarc retries transients."""
    handle_cloud_event(cloud_event)
