"""hybridsr."""
