"""The declaration of one API endpoint: method, path template and decoder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._response import EnvelopeDecoder

if TYPE_CHECKING:
    from ._http import HTTPResponse

__all__ = ["Endpoint", "deleted", "many", "one"]

T = TypeVar("T")


@dataclass(frozen=True)
class Endpoint(Generic[T]):
    """One of the API's endpoints.

    Attributes:
        method: The HTTP method.
        path: The path under the base URL, with ``{}`` for each identifier.
        decode: Turns the response into ``T`` or raises the typed error.

    """

    method: str
    path: str
    decode: Callable[[HTTPResponse], T]

    def format_path(self, ids: tuple[str, ...]) -> str:
        """The path with the (already validated and quoted) identifiers filled in."""
        return self.path.format(*ids) if ids else self.path


def one(method: str, path: str, field: str, model: type[T]) -> Endpoint[T]:
    """An endpoint answering ``{"<field>": <model>, "errors": []}``."""
    return Endpoint(method, path, EnvelopeDecoder(field, model))


def many(method: str, path: str, model: type[T]) -> Endpoint[list[T]]:
    """An endpoint answering ``{"data": [<model>...], "errors": []}``."""
    return Endpoint(method, path, EnvelopeDecoder("data", list[model]))  # type: ignore[valid-type]


def _none(success: Any) -> None:
    if success is not True:
        raise ValueError("the server did not confirm the deletion")


def deleted(path: str) -> Endpoint[None]:
    """A DELETE endpoint answering ``{"success": true, "errors": []}``."""
    return Endpoint("DELETE", path, EnvelopeDecoder("success", bool, _none))
