"""Risk assessment of recall and safety-notice decisions (R-Map, EU method)."""
