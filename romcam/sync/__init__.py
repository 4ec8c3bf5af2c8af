"""Linking this laptop to a clinic server (issue 7): the link configuration (``config``), the outbox
of uploads (``outbox``), the session document re-addressed to the clinic (``document``), the plan
pulled from the clinic (``plan``), the HTTP client (``client``) and the background worker (``worker``).
See docs/sync.md."""
