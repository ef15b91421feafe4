"""Developer tools that are not shipped: generators of committed files (`make generate`)."""
