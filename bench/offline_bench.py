"""Page weight of the offline shells (srs/offline): the HTML and every file the service worker caches.

    .venv/bin/python bench/offline_bench.py

Counts bytes as served by the app (raw and gzipped), for each of the three shells.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srs import create_app  # noqa: E402
from srs.config import TestConfig  # noqa: E402
from srs.offline.weight import shell_weight  # noqa: E402
from srs.registry import fields  # noqa: E402


def main() -> None:
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    app = create_app(config)
    client = app.test_client()
    for shell in ("/offline/", "/offline/household", "/offline/pending", "/offline/edit"):
        weights = shell_weight(client, shell)
        raw = sum(w.raw for w in weights)
        gz = sum(w.gzipped for w in weights)
        print(f"{shell}: {raw / 1024:.1f} KiB raw, {gz / 1024:.1f} KiB gzipped")
        for w in weights:
            print(f"    {w.url}: {w.raw} B ({w.gzipped} B gzipped)")
    with app.test_request_context():
        table = json.dumps(fields.describe_all("officer")).encode()
    packed = len(gzip.compress(table, 9))
    print(f"field table (fetched once, kept in IndexedDB): {len(table)} B ({packed} B gzipped)")


if __name__ == "__main__":
    main()
