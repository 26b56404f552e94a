"""Security events, logged at INFO on the ``coachdesk.security`` logger.

Sign-ins (a failed one with the request's address only: never the typed email or
password), sign-outs, password changes and resets, deactivations, email changes
(asked, confirmed, cancelled), capability refusals and rate limits reached. Users
appear by id. Route this logger to its own file (or fail2ban) in production.
"""

from __future__ import annotations

import logging

from flask import has_request_context, request

security_log = logging.getLogger("coachdesk.security")


def audit(message: str, *args: object) -> None:
    """Log one security event (``%s`` placeholders), with the request's address if any."""
    if has_request_context():
        security_log.info(message + " [from %s]", *args, request.remote_addr)
    else:
        security_log.info(message, *args)
