"""What the tools read from a live AWS account: here, whether the account can run a stack (`capacity`)."""
