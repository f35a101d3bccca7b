"""Training data: the window, partition discovery and the FG-A + FG-C dataset (pandas/pyarrow, no Spark)."""
