"""Integrity of the records: the audit chain check, and backup and restore of a whole deployment."""
