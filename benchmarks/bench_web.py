"""Benchmark: the web front end's worker list and worker editor at 5,000 workers
(issue 14), each page next to the library call it wraps, in the same run.

A SQLite store holds one employer's collection of N workers (default 5,000),
built through the library as benchmarks/bench_collection.py builds it (the
example dossier's first worker copied N times under new identity and person
numbers; the reference bureau's state in SQLite, as ``local:DIR`` opens it;
start, sync, employer, verification forms recorded, every worker saved, the
confirmation forms of a tenth of them recorded as printed). Building it is not
timed.

Then the web front end's WSGI application (``pension_collect_web.app
.create_app``, the application ``pension-collect web`` serves under gunicorn)
over that store and bureau answers, through Flask's test client with a
signed-in clerk, each page ``--requests`` times (wall and CPU seconds per
request: the server's whole work, from the sign-in check to the rendered page,
without the network; the test client runs it in this process, so its CPU time
is the server's alone, whatever else the shared machine runs):

- the worker list, first page;
- the worker list, a later page (the middle of the list);
- the worker list, a search by identity number (a POST: it never goes into a URL);
- the worker editor of one worker;

and, in the same process, the library call each page wraps, as many times:
``pension_collect.workflow.overview.worker_page`` with the same page, offset
and search, and ``CollectionSession.worker(key)`` with the rules' check of the
worker (``pension_collect.rules.check_worker``, what a save runs). The table
gives the median and the 95th percentile of each, and the page's median over
the library call's (the ratio: what the web adds, the sign-in check, opening a
session, the template); last, what any page costs (``/account``, which reads
no collection). The search is a POST followed by the list it redirects to.

    python benchmarks/bench_web.py                  # 5,000 workers, 30 requests each (minutes)
    python benchmarks/bench_web.py --smoke          # 120 workers, 3 requests (CI)
    python benchmarks/bench_web.py --workers 20000 --requests 10 --json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _shared import example_workers

CLERK = "bench-clerk"
PASSWORD = "Bench-web-2013-collect!"
PAGE = 50
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(folder: Path, n: int) -> dict[str, Any]:
    """The collection of ``n`` workers in ``folder``: the bureau's state in
    ``folder/bureau``, the store ``folder/collection.db``. Returns what the
    pages are asked about."""
    from pension_collect.adapters.reference_bureau import ReferenceBureau
    from pension_collect.model import Dossier
    from pension_collect.plugins import PluginHost
    from pension_collect.workflow import CollectionSession

    example, workers = example_workers(n, person_nos=True)
    dossier = Dossier(employer=example.employer, workers=tuple(workers), as_of=example.as_of)
    bureau = ReferenceBureau.open(folder / "bureau", as_of=dossier.as_of)
    try:
        bureau.seed_dossier(dossier)
    finally:
        bureau.close()
    host = PluginHost()
    storage = host.open_storage(f"sqlite:{folder / 'collection.db'}")
    transport = host.open_transport(f"local:{folder / 'bureau'}")
    try:
        with CollectionSession(
            storage, transport, unit_no=dossier.employer.unit_no, actor="bench", host=host
        ) as session:
            session.start()
            session.sync()
            session.collect_employer(dossier.employer)
            declaration = session.submit_employer_declaration()
            session.refresh(declaration.key)
            session.refresh(declaration.key)
            session.print_verification_forms()
            batch = session.save_workers(workers)
            if batch.refused:
                raise SystemExit(f"{len(batch.refused)} workers refused: {batch.refused[0]!r}")
            keys = [session.key_of(w) for w in workers]
            session.print_confirmation_forms(keys[: max(1, n // 10)])
    finally:
        storage.close()
        transport.close()
    return {
        "unit_no": dossier.employer.unit_no,
        "as_of": dossier.as_of,
        "store": f"sqlite:{folder / 'collection.db'}",
        "bureau": f"local:{folder / 'bureau'}",
        "key": keys[n // 2],
        "search": workers[(n * 3) // 4].id_number,
        "middle": (n // 2 // PAGE) * PAGE,
    }


def timed(fn: Callable[[], object], requests: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of ``requests`` calls of ``fn`` (one warm-up
    call first, not counted). Flask's test client runs the request in this
    process, so its CPU time is the server's work alone, whatever else the
    machine runs."""
    fn()
    wall, cpu = [], []
    for _ in range(requests):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return wall, cpu


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def library_calls(built: dict[str, Any]) -> dict[str, Callable[[], object]]:
    """The library calls the pages wrap, over a session opened once."""
    from pension_collect.plugins import PluginHost
    from pension_collect.rules import check_worker
    from pension_collect.rules.weihai2013 import default_pack
    from pension_collect.workflow import CollectionSession
    from pension_collect.workflow.overview import worker_page

    host = PluginHost()
    storage = host.open_storage(built["store"])
    transport = host.open_transport(built["bureau"])
    session = CollectionSession(
        storage, transport, unit_no=built["unit_no"], actor="bench", host=host
    )

    pack = default_pack()

    def editor() -> object:
        stored = session.worker(built["key"])
        return check_worker(stored.worker, pack=pack, as_of=built["as_of"])

    return {
        "list, first page": lambda: worker_page(session, offset=0, limit=PAGE),
        "list, later page": lambda: worker_page(session, offset=built["middle"], limit=PAGE),
        "list, search": lambda: worker_page(session, search=built["search"], limit=PAGE),
        "editor": editor,
    }


def web_calls(built: dict[str, Any], folder: Path) -> dict[str, Callable[[], object]]:
    """The pages, through Flask's test client signed in as a clerk of the employer."""
    from pension_collect_web.app import create_app
    from pension_collect_web.config import WebConfig

    app = create_app(
        WebConfig(
            store_url=built["store"],
            bureau_url=built["bureau"],
            accounts_path=folder / "accounts.db",
            as_of=built["as_of"],
        )
    )
    state = app.extensions["pension_collect_web"]
    state.accounts.add(CLERK, built["unit_no"], PASSWORD)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    answer = client.post(
        "/login", data={"name": CLERK, "password": PASSWORD, "csrf_token": _csrf(login)}
    )
    if answer.status_code != 303:
        raise SystemExit(f"the clerk could not sign in: {answer.status_code}")
    csrf = _csrf(client.get("/account").get_data(as_text=True))
    ref = state.ref(built["unit_no"], built["key"])

    def page(method: str, url: str, data: dict[str, str] | None = None) -> Callable[[], object]:
        def call() -> object:
            if method == "GET":
                got = client.get(url)
            else:  # the search: POST, then the list it redirects to (never in a URL)
                form = {**(data or {}), "csrf_token": csrf}
                got = client.post(url, data=form, follow_redirects=True)
            if got.status_code != 200:
                raise SystemExit(f"{method} {url} answered {got.status_code}")
            return got

        return call

    later = built["middle"] // PAGE + 1
    calls = {
        "list, first page": page("GET", "/workers"),
        "list, later page": page("GET", f"/workers?page={later}"),
        "list, search": page("POST", "/workers/search", {"search": built["search"]}),
        "editor": page("GET", f"/workers/{ref}/edit"),
        "account": page("GET", "/account"),
    }
    # the search is kept in the session: the pages without it come first
    return calls


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise SystemExit("no CSRF field on the page")
    return found.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=5000, help="workers in the store (5000)")
    parser.add_argument("--requests", type=int, default=30, help="requests per page (30)")
    parser.add_argument("--smoke", action="store_true", help="120 workers, 3 requests (CI)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.smoke:
        args.workers, args.requests = 120, 3
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        built = build(folder, args.workers)
        print(
            f"built {args.workers} workers in SQLite in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        web = web_calls(built, folder)
        fixed = web.pop("account")
        library = library_calls(built)
        rows = []
        for name in web:
            # interleaved: the page, then the library call, so both see the same machine
            page_wall, page_cpu = timed(web[name], args.requests)
            lib_wall, lib_cpu = timed(library[name], args.requests)
            rows.append(
                {
                    "page": name,
                    "requests": args.requests,
                    "web_wall_median": statistics.median(page_wall),
                    "web_wall_p95": p95(page_wall),
                    "web_cpu_median": statistics.median(page_cpu),
                    "web_cpu_p95": p95(page_cpu),
                    "library_wall_median": statistics.median(lib_wall),
                    "library_wall_p95": p95(lib_wall),
                    "library_cpu_median": statistics.median(lib_cpu),
                    "library_cpu_p95": p95(lib_cpu),
                }
            )
        fixed_wall, fixed_cpu = timed(fixed, args.requests)
    for row in rows:
        row["ratio_wall"] = row["web_wall_median"] / row["library_wall_median"]
        row["ratio_cpu"] = row["web_cpu_median"] / max(row["library_cpu_median"], 1e-6)
    figures = {
        "workers": args.workers,
        "store": "sqlite",
        "rows": rows,
        "account_page": {
            "wall_median": statistics.median(fixed_wall),
            "cpu_median": statistics.median(fixed_cpu),
        },
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print(figures)
    return 0


def _print(figures: dict[str, Any]) -> None:
    print(
        f"\n{figures['workers']} workers, SQLite store; ms per request, median / p95, "
        "wall and CPU (the page through Flask's test client; the library call it wraps)"
    )
    print(
        f"  {'page':18} {'web wall':>15} {'lib wall':>15} {'ratio':>6}   "
        f"{'web CPU':>15} {'lib CPU':>15} {'ratio':>6}"
    )

    def ms(median: float, p95: float) -> str:
        return f"{median * 1000:.1f} / {p95 * 1000:.1f}"

    for r in figures["rows"]:
        print(
            f"  {r['page']:18} {ms(r['web_wall_median'], r['web_wall_p95']):>15} "
            f"{ms(r['library_wall_median'], r['library_wall_p95']):>15} {r['ratio_wall']:6.2f}   "
            f"{ms(r['web_cpu_median'], r['web_cpu_p95']):>15} "
            f"{ms(r['library_cpu_median'], r['library_cpu_p95']):>15} {r['ratio_cpu']:6.2f}"
        )
    fixed = figures["account_page"]
    print(
        f"  what any page costs (GET /account, no collection read): "
        f"{fixed['wall_median'] * 1000:.1f} ms wall, {fixed['cpu_median'] * 1000:.1f} ms CPU"
    )


if __name__ == "__main__":
    sys.exit(main())
