"""compilation layer."""
