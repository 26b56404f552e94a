"""Add-ons that go wrong in the ways a site owner can meet: each is refused, the site goes on."""
