"""Pure-Python pieces shared by the feature-group jobs (no pyspark imports here)."""
