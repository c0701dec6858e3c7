"""Incidents: intake, the register, the incident page, comments and attachments."""
