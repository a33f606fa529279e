"""The Strongroom API as pydantic models: the single source of truth for the CRDs."""
