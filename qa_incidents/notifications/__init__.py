"""Regulator notifications: obligations, legal deadlines, submissions."""
