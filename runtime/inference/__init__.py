"""Batch inference against a SageMaker endpoint: payload packing, parallel invocation, feature joins."""
