# Only what SRS uses. FlaskForm is a wtforms Form bound to the request's form data and CSRF token.
from typing import Any

from wtforms import Form

from .csrf import CSRFProtect as CSRFProtect

class FlaskForm(Form):
    def __init__(self, formdata: Any = ..., **kwargs: Any) -> None: ...
    def is_submitted(self) -> bool: ...
    def validate_on_submit(self, extra_validators: Any = ...) -> bool: ...
    def hidden_tag(self, *fields: Any) -> Any: ...

__all__ = ["CSRFProtect", "FlaskForm"]
