"""The signed-in person as the layers below accounts see them.

core and regions may not import srs.accounts (tests/test_layers.py), yet they audit, scope and
greet the user: they type that user as an ``Actor``, the part of srs.accounts.models.User they read.
A User is an Actor (mypy checks it structurally, where a service hands its User down).
"""

from __future__ import annotations

from typing import Protocol


class Actor(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def region_paths(self) -> list[str]: ...
