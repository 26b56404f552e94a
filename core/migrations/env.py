"""Alembic environment: always run through core.migrations.runner, with the app's connection."""

from __future__ import annotations

from alembic import context

from core.db import Base, expression_indexes_unreflected
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
# On SQLite a batch migration rebuilds its table and reflects those it refers to (users
# among them); users' lower(email) index is not rebuilt, and test_constraints proves it is
# there after an upgrade.
with context.begin_transaction(), expression_indexes_unreflected():
    context.run_migrations()
