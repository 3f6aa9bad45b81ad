"""Model builders. The built-ins register through `rnnbench.models.builtin`."""
