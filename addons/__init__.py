"""Add-ons bundled with Coachdesk, each a sub-package declared under the
``coachdesk.addons`` entry points in setup.cfg (none are bundled yet)."""
