"""Development tools of the modelplane repository (not shipped in any distribution)."""
