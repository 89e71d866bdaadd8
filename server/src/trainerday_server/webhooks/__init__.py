"""Webhooks: apps and athletes are told when something changes, signed, retried, never lost.

``outbox.emit`` writes an event in the transaction of the change that caused it; ``worker`` delivers it;
``urls`` keeps callbacks away from internal addresses; ``routes`` is the subscriptions and deliveries API.
"""
