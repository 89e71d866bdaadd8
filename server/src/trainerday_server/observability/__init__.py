"""What an operator watches: the access log and request ids, Prometheus metrics, and the readiness probe.

Everything here hangs off one ASGI middleware (``middleware.Observability``) so a request pays for one extra
layer, not one per concern.
"""
