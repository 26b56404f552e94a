"""Every core model in one import, for Alembic and for the schema check."""

from __future__ import annotations


def import_all_models() -> None:
    from core.accounts import models as _accounts  # noqa: F401
    from core.emails import models as _emails  # noqa: F401
    from core.payments import models as _payments  # noqa: F401
    from core.plugins import models as _plugins  # noqa: F401
    from core.privacy import models as _privacy  # noqa: F401
    from core.programs import models as _programs  # noqa: F401
    from core.sessions import models as _sessions  # noqa: F401
    from core.settings import models as _settings  # noqa: F401
