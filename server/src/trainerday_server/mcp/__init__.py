"""The MCP endpoint (``/mcp``): an athlete's AI assistant reads their training and plans workouts, through
the official ``mcp`` SDK's Streamable HTTP transport, stateless, authorised with the same tokens and scopes
as every app. ``endpoint`` is the HTTP side (authentication, RFC 9728 metadata), ``tools`` what an assistant
can do, ``server`` assembles the two."""
