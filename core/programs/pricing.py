"""Spreading a bundle's price over its sessions, to the cent."""

from __future__ import annotations


def spread_price(total: int, count: int) -> list[int]:
    """``total`` minor units in ``count`` shares that add up to exactly ``total``.

    The largest-remainder method on equal shares: each share is the floor of
    ``total / count`` and the cents left over go one each to the first sessions, so
    10000 over 3 is [3334, 3333, 3333] and no cent is lost or invented.
    """
    if count <= 0:
        raise ValueError("a price is spread over at least one session")
    if total < 0:
        raise ValueError("a price cannot be negative")
    share, left = divmod(total, count)
    return [share + 1 if i < left else share for i in range(count)]
