"""The command line: ``python -m seeding`` and its subcommands, parsing, progress and reports."""
