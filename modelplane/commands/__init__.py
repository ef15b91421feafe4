"""argparse wiring of the `modelplane` subcommands, one module each (`register(subparsers)`)."""
