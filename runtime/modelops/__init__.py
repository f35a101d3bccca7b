"""Model lifecycle shared by publish, attributes, deploy and inference: the artifact manifest and the attributes document."""
