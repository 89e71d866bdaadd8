"""An athlete's data, all of it, as one streamed zip (``GET /api/v1/athlete/export``)."""
