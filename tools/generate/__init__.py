"""Generators of the files derived from the code (`make generate`); tests fail while any output is stale."""
