"""The ASGI application for servers that import it by name (``trainerday-server serve`` uses this)."""

from trainerday_server.app import create_app

app = create_app()
