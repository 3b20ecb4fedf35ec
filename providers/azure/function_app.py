"""Azure Functions entry point (Python v2 programming model): an Event Grid trigger.

Deploy this folder's bundle (``make bundle-azure``) to a Function App on Python 3.11 and
subscribe the function ``scan_blob`` (endpoint type *Azure Function*) to the input storage
account's system topic for ``Microsoft.Storage.BlobCreated``, with a retry policy and a
dead-letter container. Either event schema works (Event Grid or CloudEvents 1.0).

Why an Event Grid trigger rather than a blob trigger with ``source=EventGrid``: the function
needs the event itself (its ETag, size and id) to scan exactly the version that was announced,
to tell a redelivery from a new upload, and to ignore what it must not scan; and the Event
Grid trigger gives Event Grid's retries with backoff and dead-lettering with no storage
queue or blob receipts of the host's own. Its result is the delivery's status: return → 200,
raise → 500 → retried, then dead-lettered (see :mod:`fakewatch_azure.handler`).

The worker is wired once, here at import (its cold start): clients, policy, scanner.
"""

from __future__ import annotations

import azure.functions as func

from fakewatch_azure.handler import handle_event
from fakewatch_azure.runtime import warm_up

app = func.FunctionApp()

warm_up()  # one-time init per worker; a bad configuration is logged and raised per event


@app.function_name(name="scan_blob")
@app.event_grid_trigger(arg_name="event")
def scan_blob(event: func.EventGridEvent, context: func.Context) -> None:
    """Scan the blob a BlobCreated event announces; raise so Event Grid retries transients."""
    handle_event(event, context)
