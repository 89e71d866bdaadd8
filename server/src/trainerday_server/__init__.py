"""TrainerDay API server: athlete profile, training calendar, workouts, activities and OAuth 2.0."""

__version__ = "0.2.0"
