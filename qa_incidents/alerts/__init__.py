"""Group-wide early alerts: head-office QA asks every division that may share a severe incident's cause to check its products."""
