"""Spark I/O shared by every builder: typed readers, idempotent partitioned writers, batch columns."""
