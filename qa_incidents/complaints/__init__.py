"""Customer complaints: intake (form, API, bulk files), safety words, and early-warning signals per model and symptom."""
