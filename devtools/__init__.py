"""Development tools outside the runtime bundle the pipelines ship: synthetic traffic and fixtures."""
