"""The DCI specs (shared/dci/social_api_v1.0.0.yaml, crvs_api_v1.0.0.yaml) as validators for bodies.

``api="crvs"`` checks against the civil registry's spec (what SRS sends a CRVS as its client).

$refs resolve inside the YAML itself: the document is the root schema, with a ``$ref`` pointing at
the request or response schema to check. Formats (date-time, uri, int32) are checked too.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

SPEC_PATH = Path(
    os.environ.get("SRS_DCI_SPEC", Path(__file__).resolve().parents[3] / "shared/dci/social_api_v1.0.0.yaml")
)
if not SPEC_PATH.exists():  # a worktree lies one level deeper than the main checkout
    SPEC_PATH = Path("/work/shared/dci/social_api_v1.0.0.yaml")


@functools.lru_cache(maxsize=2)
def spec(api: str = "social") -> dict[str, Any]:
    path = SPEC_PATH if api == "social" else SPEC_PATH.with_name(f"{api}_api_v1.0.0.yaml")
    return yaml.safe_load(path.read_text())


def _escape(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def _pointer_validator(pointer: str, api: str = "social") -> OAS30Validator:
    root = dict(spec(api))
    root["$ref"] = pointer
    return OAS30Validator(root, format_checker=oas30_format_checker)


def _errors(pointer: str, body: Any, api: str = "social") -> list[str]:
    validator = _pointer_validator(pointer, api)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


def request_errors(path: str, body: Any, api: str = "social") -> list[str]:
    """Why ``body`` is not a valid request to ``path`` (e.g. /registry/on-search); empty when valid."""
    return _errors(f"#/paths/{_escape(path)}/post/requestBody/content/application~1json/schema", body, api)


def response_errors(path: str, body: Any, status: str = "default") -> list[str]:
    """Why ``body`` is not a valid ``status`` response of ``path``; empty when valid."""
    response = spec()["paths"][path]["post"]["responses"][status]
    base = response["$ref"] if "$ref" in response else f"#/paths/{_escape(path)}/post/responses/{status}"
    return _errors(f"{base}/content/application~1json/schema", body)


def assert_request(path: str, body: Any, api: str = "social") -> None:
    errors = request_errors(path, body, api)
    assert errors == [], errors


def assert_response(path: str, body: Any, status: str = "default") -> None:
    errors = response_errors(path, body, status)
    assert errors == [], errors
