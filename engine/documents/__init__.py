"""Documents: extract, chunk, embed, index and retrieve, so answers can cite their sources."""
