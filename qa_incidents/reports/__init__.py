"""Top-management status reports, the portfolio report and the quality dashboard."""
