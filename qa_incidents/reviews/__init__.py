"""OCHIBO-HIROI root-cause reviews and the lessons-learned library."""
