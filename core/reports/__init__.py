"""Manager reports: the figures of a period (rendering lives in :mod:`presentation`)."""
