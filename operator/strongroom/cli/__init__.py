"""The `strongroom` / `kubectl strongroom` command line."""
