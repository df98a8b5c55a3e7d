"""``pension-collect bureau serve|seed``: the reference bureau over HTTP
(docs/cli.md, docs/bureau-server.md).

``serve`` runs the bureau in a data folder under gunicorn (needs the
``server`` extra); ``seed`` registers dossiers' employers and persons there
and gives each new employer an initial password, printed once.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path
from typing import Any

from ..adapters.reference_bureau import IdentityNumberHeld, ReferenceBureau
from ..dossier import load
from ..errors import DossierFormatError
from . import EXIT_OK, EXIT_UNREADABLE, say

__all__ = ["WINDOW_TOKEN_ENV", "add_parser"]

#: The environment variable holding the window token of ``serve --sandbox``.
WINDOW_TOKEN_ENV = "PENSION_COLLECT_BUREAU_WINDOW_TOKEN"


def add_parser(sub: Any) -> None:
    """Add the ``bureau`` command with its subcommands ``serve`` and ``seed``."""
    b = sub.add_parser(
        "bureau",
        help="serve the reference bureau over HTTP; register employers (经办机构服务)",
        description="The reference bureau over HTTP (docs/bureau-server.md): 'serve' runs it "
        "under gunicorn, 'seed' registers dossiers' employers and persons.",
    )
    bsub = b.add_subparsers(dest="bureau_command", metavar="SUBCOMMAND")
    b.set_defaults(run=_no_subcommand)

    s = bsub.add_parser(
        "serve",
        help="serve the bureau in DIR over HTTP (gunicorn)",
        description="Serve the reference bureau whose state is in DIR/bureau.db over HTTP, "
        "under gunicorn (pre-fork, several worker processes). Prints one line with the URL "
        "once it listens; stops on SIGTERM or Ctrl-C.",
    )
    s.add_argument("--data", metavar="DIR", required=True, help="the bureau's data folder")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: a free one)")
    s.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    s.add_argument(
        "--sandbox",
        action="store_true",
        help=f"serve the window services under /api/v1/sandbox/ (needs {WINDOW_TOKEN_ENV})",
    )
    s.add_argument(
        "--token-ttl", type=float, default=900.0, metavar="SECONDS", help="token life (900)"
    )
    s.add_argument(
        "--processing-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="seconds from submission until a declaration may conclude (0)",
    )
    s.add_argument(
        "--max-body",
        type=int,
        default=64 * 1024 * 1024,
        metavar="BYTES",
        help="largest request body (64 MiB)",
    )
    s.add_argument(
        "--address-limit",
        type=int,
        default=20,
        metavar="N",
        help="failed logins from one address within 5 minutes before it must wait (20)",
    )
    s.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (address or network, repeatable) whose X-Forwarded-For gives "
        "the client's address for login limits (default: none, no header is read)",
    )
    s.add_argument("--certfile", metavar="FILE", help="TLS certificate (PEM); with --keyfile")
    s.add_argument("--keyfile", metavar="FILE", help="TLS private key (PEM); with --certfile")
    s.set_defaults(run=_serve)

    d = bsub.add_parser(
        "seed",
        help="register dossiers' employers and persons; print new initial passwords",
        description="Register each dossier's employer and persons at the bureau in DIR and "
        "print each new employer's initial password once (it must be changed at the first "
        "login). An employer with an account keeps its password unless --reset-password.",
    )
    d.add_argument("--data", metavar="DIR", required=True, help="the bureau's data folder")
    d.add_argument("dossiers", metavar="DOSSIER", nargs="+", help="dossier files (JSON)")
    d.add_argument(
        "--reset-password",
        action="store_true",
        help="give employers that have an account a new initial password too",
    )
    d.set_defaults(run=_seed)


def _no_subcommand(args: argparse.Namespace) -> int:
    say("a subcommand is needed: serve, seed (see 'pension-collect bureau --help')")
    return EXIT_UNREADABLE


def _missing_extra() -> int:
    say(
        "the bureau server needs the 'server' extra: pip install 'pension-collect[server]' "
        "(需要安装 server 扩展)"
    )
    return EXIT_UNREADABLE


def _bad_option(message: str) -> int:
    say(message)
    return EXIT_UNREADABLE


def _serve(args: argparse.Namespace) -> int:
    window_token = os.environ.get(WINDOW_TOKEN_ENV) or None
    if args.sandbox and window_token is None:
        return _bad_option(
            f"--sandbox needs the window token in the environment variable {WINDOW_TOKEN_ENV} "
            "(there is no default); set it and start again (沙箱模式需要窗口令牌环境变量)"
        )
    if (args.certfile is None) != (args.keyfile is None):
        return _bad_option("--certfile and --keyfile go together (证书和私钥须同时提供)")
    for name, value, least in (
        ("--workers", args.workers, 1),
        ("--max-body", args.max_body, 1),
        ("--address-limit", args.address_limit, 1),
        ("--port", args.port, 0),
    ):
        if value < least:
            return _bad_option(f"{name} must be at least {least} ({name} 取值过小)")
    if args.port > 65535:
        return _bad_option("--port must be at most 65535 (端口号过大)")
    if not 0 < args.token_ttl <= 86400 * 30 or not 0 <= args.processing_delay <= 86400 * 365:
        return _bad_option(
            "--token-ttl must be from 0 to 30 days and --processing-delay not negative "
            "(参数取值超出范围)"
        )
    try:
        from ..server.app import ServerConfig
        from ..server.auth import AuthSettings, AuthStore
        from ..server.runner import BureauServer
    except ImportError:
        return _missing_extra()
    from ..server.proxies import BadProxy, trusted_networks

    try:
        trusted = trusted_networks(args.trusted_proxy)
    except BadProxy as exc:
        return _bad_option(str(exc))
    data = Path(args.data)
    ReferenceBureau.open(data).close()  # a folder that is not a bureau's: one line, exit 2
    AuthStore(data / "bureau.db").close()
    problem = _cannot_listen(args.host, args.port)
    if problem is not None:
        return _bad_option(problem)
    config = ServerConfig(
        data_dir=data,
        auth=AuthSettings(token_ttl=args.token_ttl, address_limit=args.address_limit),
        processing_delay=args.processing_delay,
        max_body=args.max_body,
        sandbox=args.sandbox,
        window_token=window_token if args.sandbox else None,
        trusted_proxies=trusted,
    )

    def ready(url: str) -> None:
        mode = ", sandbox" if args.sandbox else ""
        print(f"pension-collect bureau: serving {url} ({args.workers} workers{mode})", flush=True)

    server = BureauServer(
        config,
        host=args.host,
        port=args.port,
        workers=args.workers,
        certfile=args.certfile,
        keyfile=args.keyfile,
        on_ready=ready,
    )
    try:
        server.run()
    except SystemExit as exc:  # the arbiter ends with sys.exit
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    return EXIT_OK


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server cannot listen on ``host:port`` (one line), or ``None``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return f"cannot listen on {host!r}: no such address (无法监听该地址)"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            return f"cannot listen on {host}:{port}: {reason} (无法监听该地址和端口)"
    return None


def _seed(args: argparse.Namespace) -> int:
    dossiers = []
    for path in args.dossiers:
        try:
            dossiers.append(load(path))
        except DossierFormatError as exc:
            say(str(exc))
            return EXIT_UNREADABLE
        except OSError as exc:
            say(f"cannot read {path}: {exc.strerror or type(exc).__name__} (无法读取文件)")
            return EXIT_UNREADABLE
    from ..server.auth import AuthStore

    data = Path(args.data)
    with ReferenceBureau.open(data) as bureau:
        accounts = AuthStore(data / "bureau.db")
        try:
            for path, dossier in zip(args.dossiers, dossiers, strict=True):
                unit_no = dossier.employer.unit_no
                try:
                    persons = bureau.seed_dossier(dossier)  # one per identity number
                except IdentityNumberHeld as exc:
                    say(f"{path}: {exc} (nothing of this dossier was registered)")
                    return EXIT_UNREADABLE
                print(f"employer {unit_no}: {len(persons)} persons registered")
                if accounts.has_account(unit_no) and not args.reset_password:
                    print(
                        f"employer {unit_no}: has an account already; its password is kept "
                        "(--reset-password gives it a new initial password)"
                    )
                    continue
                password = accounts.set_initial_password(unit_no)
                print(
                    f"employer {unit_no}: initial password {password} "
                    "(shown once; it must be changed at the first login)"
                )
        finally:
            accounts.close()
    sys.stdout.flush()
    return EXIT_OK
