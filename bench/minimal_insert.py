"""The irreducible cost of a write over HTTP, for bench/http_writes.py: a Flask endpoint that parses
the JSON body SRS would get and INSERTs it into PostgreSQL with one commit, nothing else (no auth,
no validation, no audit). Served by gunicorn like SRS:

    SRS_BENCH_MINIMAL_DSN=postgresql://root@127.0.0.1:5432/srs_bench_writes \\
    gunicorn -w 4 'bench.minimal_insert:create_app()'
"""

from __future__ import annotations

import json
import os
from typing import Any

import psycopg
from flask import Flask, jsonify, request

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_minimal_writes (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    full_name text,
    sex text,
    date_of_birth date,
    region_code text,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


def create_app() -> Flask:
    """The app: one connection per worker process, opened on the first request (after the fork)."""
    app = Flask(__name__)
    dsn = os.environ["SRS_BENCH_MINIMAL_DSN"]
    state: dict[str, Any] = {}

    def connection() -> psycopg.Connection[Any]:
        if state.get("conn") is None or state["conn"].closed:
            state["conn"] = psycopg.connect(dsn)
        return state["conn"]

    @app.post("/<kind>")
    def insert(kind: str):  # type: ignore[no-untyped-def]
        body = request.get_json()
        conn = connection()
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO bench_minimal_writes (kind, full_name, sex, date_of_birth, region_code, body)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    kind,
                    body.get("full_name"),
                    body.get("sex"),
                    body.get("date_of_birth"),
                    body.get("region_code"),
                    json.dumps(body),
                ),
            )
            new_id = cur.fetchone()[0]  # type: ignore[index]
        conn.commit()
        response = jsonify({"id": new_id, **body})
        response.status_code = 201
        return response

    return app
