"""Model lifecycle: the artifact manifest, the attributes document, the SageMaker registry and endpoint calls."""
