"""Payments: recording money, refunds, receipts. Importing it wires the status-change event."""

from core.payments import events as events
