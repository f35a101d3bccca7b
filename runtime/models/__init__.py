"""Model artifacts: the Isolation Forest as JSON, its preprocessing, the archive format and the safe loader."""
