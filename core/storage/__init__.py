"""Persistence: tortoise models, migrations, the database engine, fast row writes, blobs."""
