"""Users, divisions, log-in and their administration."""
