"""The page weight of an offline shell: its HTML and every file the service worker caches for it."""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from flask.testing import FlaskClient

from srs.offline.views import STATIC_FILES


@dataclass(frozen=True)
class Weight:
    """Bytes of one file as served, and gzipped (what a server with compression would send)."""

    url: str
    raw: int
    gzipped: int


def shell_weight(client: FlaskClient, shell_url: str) -> list[Weight]:
    """The shell at ``shell_url`` with its stylesheet, script, icon and manifest, as served."""
    urls = [shell_url, "/manifest.webmanifest", *(f"/static/{name}" for name in STATIC_FILES)]
    weights = []
    for url in urls:
        response = client.get(url)
        body = response.get_data()
        response.close()
        weights.append(Weight(url, len(body), len(gzip.compress(body, 9))))
    return weights
