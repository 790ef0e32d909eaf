"""The `llamune-eval` command line. Heavy modules are imported inside commands so `--help` stays instant."""
