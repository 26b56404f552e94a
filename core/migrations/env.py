"""Alembic environment: always run through core.migrations.runner, with the app's connection."""

from __future__ import annotations

from alembic import context

from core.db import Base
from core.models import import_all_models

import_all_models()
config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
