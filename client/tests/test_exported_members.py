"""The public surface is exactly what ``trainerday.__all__`` names, each member importable from
``trainerday``."""

from __future__ import annotations

import importlib
import pkgutil

import trainerday


def test_all_names_exist_and_say_they_live_in_trainerday():
    for name in trainerday.__all__:
        member = getattr(trainerday, name)
        if isinstance(member, type):
            assert member.__module__ == "trainerday", name


def test_every_public_name_of_the_package_is_exported():
    public = {name for name in dir(trainerday) if not name.startswith("_")} | {"__version__"}
    assert public == set(trainerday.__all__)


def test_modules_are_private():
    modules = [m.name for m in pkgutil.iter_modules(trainerday.__path__)]
    assert modules and all(name.startswith("_") for name in modules), modules


def test_every_exception_is_a_trainerday_error_and_documented():
    doc = importlib.import_module("trainerday._exceptions").__doc__ or ""
    errors = [getattr(trainerday, n) for n in trainerday.__all__ if n.endswith("Error") and n != "FieldError"]
    assert len(errors) >= 11
    for error in errors:
        assert issubclass(error, trainerday.TrainerDayError)
        assert error.__name__ in doc, f"{error.__name__} is missing from the exception tree's docstring"


def test_the_tree_the_issue_names():
    td = trainerday
    for error in (
        td.AuthenticationError,
        td.PermissionDeniedError,
        td.NotFoundError,
        td.ConflictError,
        td.RateLimitError,
        td.ValidationError,
        td.ServerError,
    ):
        assert issubclass(error, td.APIStatusError)
    assert issubclass(td.OAuthError, td.AuthenticationError)


def test_typed_package():
    files = importlib.resources.files("trainerday")
    assert files.joinpath("py.typed").is_file()
