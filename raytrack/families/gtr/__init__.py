"""GTR / biogtr: the global tracking transformer for animals and cells."""
