"""Recall and repair programs: campaigns, customer notices, progress, closure."""
