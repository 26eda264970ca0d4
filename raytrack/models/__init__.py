"""Model families, one package each; :mod:`raytrack.models.registry` maps names to builders."""
