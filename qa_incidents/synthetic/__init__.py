"""Synthetic data at the scale of a global manufacturer, for measuring performance (`qa-incidents seed synthetic`)."""
