"""Writes over HTTP: SRS against the irreducible cost of a write, side by side in one run.

    python bench/http_writes.py                 # or: make bench-writes
    python bench/http_writes.py --before /tmp/srs-main   # also an older checkout of SRS, same run

Starts ``gunicorn -w 4`` serving SRS (``SRS_ENV=production``) against a scratch PostgreSQL database
(emptied and rebuilt: migrations, then ``flask seed-demo``), and ``gunicorn -w 4`` serving
bench/minimal_insert.py, a Flask endpoint that parses the same JSON and INSERTs it with one commit.
Each is loaded in turn with ``wrk`` (Debian's package; a Lua script writes the bodies, each request a
new person) over 8 connections, A B B A ..., so a machine whose speed drifts affects both alike; the
ratio per round is the figure to quote. Three writes are measured:

* registration: ``POST /api/v1/clients`` (an officer's token, a new person each time);
* screening: ``POST /api/v1/clients/<id>/screenings`` of the clients registered before;
* referral: ``POST /api/v1/referrals`` (each request a client and programme with no open referral).

With ``--before PATH`` a third server runs the SRS code of another checkout (``PYTHONPATH=PATH``) on
the same database, in the same rotation: before and after from one run.
``--profile`` instead runs the three writes in this process under pyinstrument (one worker, one
request at a time) and prints the share of each spent keeping the report facts (srs/reports/facts.py).

Settings: ``SRS_BENCH_DATABASE_URL`` (default postgresql+psycopg://root@127.0.0.1:5432/srs_bench_writes),
``SRS_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/8).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "bench-password-2026"  # noqa: S105 - a throwaway database
VILLAGE = "35.16.08.2003"  # in officer.id1's scope
PROGRAMMES = ("ID-BPJSTK-BPU", "ID-JKN-PBI", "ID-PKH", "ID-BPNT")

REGISTRATION_LUA = r"""
function request()
  counter = counter + 1
  -- A new person each time, never the same name or phone as another server's or another run's.
  local n = counter
  local sex = (n % 2 == 0) and "female" or "male"
  local body = string.format(
    '{"id_type":"none","full_name":"Bench s%d r%d t%d n%d","sex":"%s","date_of_birth":"19%02d-%02d-%02d",' ..
    '"phone":"0812%d%d%d%05d","region_code":"@VILLAGE@","address":"Dusun Krajan","occupation":"Pedagang",' ..
    '"work_status":"informal","monthly_income":1500000,"household_size":4,"disability":false,' ..
    '"in_education":false,"poverty_status":"near_poor","enrolments":[],' ..
    '"consent":{"given":true,"date":"@TODAY@","scope":"Screening and referral"}}',
    server, run, tid, n, sex, 50 + n % 50, 1 + n % 12, 1 + n % 28, server, run % 10, tid, n % 100000)
  return wrk.format("POST", "@PATH@", headers, body)
end
"""

SCREENING_LUA = r"""
function request()
  counter = counter + 1
  local id = ids[1 + (tid + counter * threads) % #ids]
  -- (string.format ignores the id for the minimal endpoint's path, which has no %d.)
  return wrk.format("POST", string.format("@PATH@", id), headers, "{}")
end
"""

REFERRAL_LUA = r"""
function request()
  -- Each (client, programme) pair once: this run's clients are its own (a second open referral
  -- would be a 409).
  local k = tid + counter * threads
  counter = counter + 1
  local id = ids[1 + k % #ids]
  local programme = programmes[1 + math.floor(k / #ids) % #programmes]
  local body = string.format('{"client_id":%d,"programme_code":"%s","note":"Bench"}', id, programme)
  return wrk.format("POST", "@PATH@", headers, body)
end
"""

COMMON_LUA = r"""
local threads_made = {}
function setup(thread)
  thread:set("tid", #threads_made)
  table.insert(threads_made, thread)
  for _, t in ipairs(threads_made) do t:set("threads", #threads_made) end
end
function init(args)
  run = tonumber(args[1])
  server = tonumber(args[2])
  counter = 0
  tid = tonumber(tid)
  threads = tonumber(threads) or 1
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer @TOKEN@"}
  ids = {@IDS@}
  programmes = {@PROGRAMMES@}
end
function done(summary, latency, requests)
  local out = io.open("@OUT@", "w")
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
  out:close()
end
"""


@dataclass
class Server:
    """One gunicorn: its name, port, and the process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    token: str = ""


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def reset_database(url: str) -> None:
    """Drop and create the scratch database, migrate it and seed the demo data (users, programmes)."""
    import psycopg

    dsn = _plain_dsn(url)
    name = dsn.rsplit("/", 1)[1]
    server = dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "SRS_DATABASE_URL": url, "FLASK_APP": "srs", "SRS_DEMO_PASSWORD": PASSWORD}
    env.pop("SRS_ENV", None)
    env["SRS_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="srs-bench-writes-")
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([str(BIN / "flask"), *command], env=env, cwd=ROOT, check=True, capture_output=True)  # noqa: S603
    from bench.minimal_insert import TABLE_SQL

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(TABLE_SQL)
        conn.execute("ANALYZE")


def start(name: str, app: str, port: int, env: dict[str, str], workers: int, cwd: Path = ROOT) -> Server:
    command = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    log = open(Path(tempfile.gettempdir()) / f"bench-writes-{name}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([*command, app], env=env, cwd=cwd, stdout=log, stderr=log)  # noqa: S603
    return Server(name, port, process)


def _post(url: str, body: dict[str, Any], token: str = "") -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - localhost only
        return response.status, json.loads(response.read() or b"{}")


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 300  # a busy machine may take minutes to start 4 workers
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(
                f"{server.name} exited; see {tempfile.gettempdir()}/bench-writes-{server.name}.log"
            )
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=2)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{server.name} did not start")


@contextlib.contextmanager
def servers(url: str, redis_url: str, workers: int, before: str | None) -> Iterator[list[Server]]:
    base = {
        **os.environ,
        "SRS_DATABASE_URL": url,
        "SRS_REDIS_URL": redis_url,
        "SRS_ENV": "production",
        "SRS_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
        "SRS_RATELIMIT_ENABLED": "0",
        "SRS_INSTANCE_PATH": tempfile.mkdtemp(prefix="srs-bench-writes-"),
    }
    started = [start("srs", "srs:create_app()", 18081, base, workers)]
    minimal_env = {**base, "SRS_BENCH_MINIMAL_DSN": _plain_dsn(url)}
    started.append(start("minimal", "bench.minimal_insert:create_app()", 18082, minimal_env, workers))
    if before:
        started.append(
            # Started in the other checkout: gunicorn puts its working folder first on sys.path, so
            # from this one it would import this checkout's srs whatever PYTHONPATH says.
            start(
                "srs-before",
                "srs:create_app()",
                18083,
                {**base, "PYTHONPATH": before},
                workers,
                cwd=Path(before),
            )
        )
    try:
        for server in started:
            wait_ready(server)
            if server.name != "minimal":
                _status, body = _post(
                    f"http://127.0.0.1:{server.port}/api/v1/auth/token",
                    {"username": "officer.id1", "password": PASSWORD},
                )
                server.token = body["token"]
        yield started
    finally:
        for server in started:
            server.process.send_signal(signal.SIGTERM)
        for server in started:
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.process.kill()


def client_ids(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(_plain_dsn(url)) as conn:
        rows = conn.execute(
            "SELECT id FROM clients WHERE full_name LIKE 'Bench %' AND merged_into_id IS NULL ORDER BY id"
        ).fetchall()
    return [r[0] for r in rows]


def load(
    server: Server, index: int, kind: str, run: int, args: argparse.Namespace, ids: list[int]
) -> dict[str, Any]:
    """One wrk run against one server; its figures."""
    srs = server.name != "minimal"
    path = {
        "registration": "/api/v1/clients" if srs else "/registration",
        "screening": "/api/v1/clients/%d/screenings" if srs else "/screening",
        "referral": "/api/v1/referrals" if srs else "/referral",
    }[kind]
    script = {"registration": REGISTRATION_LUA, "screening": SCREENING_LUA, "referral": REFERRAL_LUA}[kind]
    out = Path(tempfile.mkdtemp(prefix="wrk-")) / "out.json"
    text = (
        (COMMON_LUA + script)
        .replace("@PATH@", path)
        .replace("@TOKEN@", server.token)
        .replace("@IDS@", ",".join(str(i) for i in ids) or "0")
        .replace("@PROGRAMMES@", ",".join(f'"{p}"' for p in PROGRAMMES))
        .replace("@VILLAGE@", VILLAGE)
        .replace("@TODAY@", time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400)))
        .replace("@OUT@", str(out))
    )
    lua = out.with_suffix(".lua")
    lua.write_text(text)
    command = ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.seconds}s", "--timeout", "10s"]
    command += ["-s", str(lua), f"http://127.0.0.1:{server.port}", "--", str(run), str(index)]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our own wrk command
    figures = json.loads(out.read_text())
    shutil.rmtree(out.parent, ignore_errors=True)
    seconds = figures["duration_us"] / 1e6
    good = figures["requests"] - figures["non2xx"]
    return {
        "rate": good / seconds,
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "non2xx": figures["non2xx"],
        "socket_errors": figures["socket_errors"],
    }


def run_http(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    url, redis_url = args.database_url, args.redis_url
    reset_database(url)
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with servers(url, redis_url, args.workers, args.before) as started:
        ids: list[int] = []
        for kind in args.kinds:
            if kind != "registration":
                ids = client_ids(url)
                if not ids:
                    raise SystemExit("screening and referral need the clients registered first")
            srs_runs = args.rounds * (len(started) - 1)
            for round_no in range(args.rounds):
                order = started if round_no % 2 == 0 else list(reversed(started))
                for server in order:
                    index = started.index(server)
                    run_ids = ids
                    if kind == "referral" and server.name != "minimal":
                        # Each SRS run refers clients of its own (slices of the clients registered).
                        share = round_no * (len(started) - 1) + (index if index == 0 else index - 1)
                        run_ids = ids[share::srs_runs]
                    figures = load(server, index, kind, round_no + 1, args, run_ids)
                    results.setdefault((kind, server.name), []).append(figures)
                    print(
                        f"{kind:12} round {round_no + 1} {server.name:10} {figures['rate']:8.1f}/s "
                        f"p50 {figures['p50_ms']:6.1f} ms p99 {figures['p99_ms']:6.1f} ms "
                        f"non-2xx {figures['non2xx']} socket errors/timeouts {figures['socket_errors']}",
                        flush=True,
                    )
    print()
    print(f"| write | server | per second (median of {args.rounds}) | p50 ms | p99 ms | of minimal |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for kind in args.kinds:
        minimal = results[(kind, "minimal")]
        for name in [s for s in ("srs", "srs-before", "minimal") if (kind, s) in results]:
            runs = results[(kind, name)]
            ratio = statistics.median(r["rate"] / m["rate"] for r, m in zip(runs, minimal, strict=True))
            print(
                f"| {kind} | {name} | {statistics.median(r['rate'] for r in runs):.0f} "
                f"| {statistics.median(r['p50_ms'] for r in runs):.1f} "
                f"| {max(r['p99_ms'] for r in runs):.1f} | {ratio:.1%} |"
            )


# ---------------------------------------------------------------------------------------------
# Profile


def _facts_share(session: Any) -> float:
    """Share of the profiled time spent under srs/reports/facts.py (outermost frames only)."""
    root = session.root_frame()
    total = root.time if root else 0.0

    def walk(frame: Any) -> float:
        if frame.file_path and frame.file_path.endswith(os.path.join("srs", "reports", "facts.py")):
            return frame.time
        return sum(walk(child) for child in frame.children)

    return walk(root) / total if total else 0.0


def run_profile(args: argparse.Namespace) -> None:
    from pyinstrument import Profiler

    url = args.database_url
    reset_database(url)
    os.environ.update(
        {
            "SRS_DATABASE_URL": url,
            "SRS_REDIS_URL": args.redis_url,
            "SRS_ENV": "production",
            "SRS_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
            "SRS_RATELIMIT_ENABLED": "0",
            "SRS_INSTANCE_PATH": tempfile.mkdtemp(prefix="srs-bench-writes-"),
        }
    )
    from srs import create_app

    app = create_app()
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "officer.id1", "password": PASSWORD}).json[
        "token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    n = args.profile_requests

    def registration(i: int) -> Any:
        body = {
            "id_type": "none",
            "full_name": f"Bench Profile {i}",
            "sex": ("female", "male")[i % 2],
            "date_of_birth": f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "phone": f"0813{i:08d}",
            "region_code": VILLAGE,
            "work_status": "informal",
            "monthly_income": 1500000,
            "household_size": 4,
            "disability": False,
            "in_education": False,
            "poverty_status": "near_poor",
            "consent": {"given": True, "date": today, "scope": "Screening and referral"},
        }
        return client.post("/api/v1/clients", json=body, headers=headers)

    for i in range(20):  # warm-up: caches, connection pool
        registration(-1 - i)
    ids: list[int] = []
    shares = {}
    for kind in ("registration", "screening", "referral"):
        profiler = Profiler(interval=0.0005)
        profiler.start()
        started = time.perf_counter()
        for i in range(n):
            if kind == "registration":
                response = registration(i)
                ids.append(response.json["id"])
            elif kind == "screening":
                response = client.post(f"/api/v1/clients/{ids[i]}/screenings", json={}, headers=headers)
            else:
                body = {"client_id": ids[i], "programme_code": PROGRAMMES[0], "note": "Bench"}
                response = client.post("/api/v1/referrals", json=body, headers=headers)
            assert response.status_code == 201, (kind, response.status_code, response.get_data(as_text=True))
        elapsed = time.perf_counter() - started
        profiler.stop()
        shares[kind] = _facts_share(profiler.last_session)
        print(f"{kind:12} {n / elapsed:6.1f}/s in one process; report facts: {shares[kind]:.1%} of the time")
        if args.profile_html:
            Path(args.profile_html).with_suffix(f".{kind}.html").write_text(profiler.output_html())
            Path(args.profile_html).with_suffix(f".{kind}.txt").write_text(
                profiler.output_text(show_all=False)
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "SRS_BENCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/srs_bench_writes"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("SRS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each server per write")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per server")
    parser.add_argument("--kinds", nargs="+", default=["registration", "screening", "referral"])
    parser.add_argument("--before", help="a checkout of older SRS code to run in the same rotation")
    parser.add_argument("--profile", action="store_true", help="profile the writes in-process instead")
    parser.add_argument("--profile-requests", type=int, default=300)
    parser.add_argument("--profile-html", help="also write pyinstrument's HTML and text, one file per write")
    parser.add_argument("--profile-srs", help="profile the SRS code of another checkout (its root folder)")
    args = parser.parse_args()
    if args.profile:
        if args.profile_srs:
            import bench.minimal_insert  # noqa: F401 - this checkout's, before the other's bench/ shadows it

            sys.path.insert(0, str(Path(args.profile_srs).resolve()))
        run_profile(args)
    else:
        run_http(args)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
