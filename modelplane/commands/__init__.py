"""The argparse wiring of each `modelplane` command; the logic lives in the packages the commands name."""
