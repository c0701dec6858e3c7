"""Cross-cutting pieces: database, clock, audit trail, permissions, storage, time display."""
