"""The command line's subcommands beyond training (`python -m twolayer` is the entry point)."""
