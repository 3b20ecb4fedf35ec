"""Ports the core defines and every provider implements.

- :class:`~fakewatch.ports.store.ObjectStore` — get / put / tag / move objects;
- :class:`~fakewatch.ports.audit.AuditSink` — the append-only, hash-chained audit log;
- :class:`~fakewatch.ports.notify.NotificationSink` — result events for downstream systems;
- :class:`~fakewatch.ports.escalation.EscalationClient` — the heavier model on a GPU endpoint.

The core ships an in-memory and a local-filesystem implementation of each; both pass the
contract suites in :mod:`fakewatch.testing`, which the cloud adapters inherit too.
"""
