"""ndrc: validate, compile, plan and publish the NDR ML platform's declarative job specs."""

__version__ = "0.1.0"
