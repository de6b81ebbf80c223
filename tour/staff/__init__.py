"""The staff studio's library: accounts, sessions, the audit log, drafts, revisions, the walk.

It knows nothing of HTTP: `tour.web` serves it to the browser and `tour.cli` to the
terminal. The stop files stay the source of truth; the studio is a careful editor of
them, and keeps every earlier version in the database.
"""
