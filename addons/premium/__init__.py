"""Premium: Stripe payments, refunds, payment emails and the license."""
