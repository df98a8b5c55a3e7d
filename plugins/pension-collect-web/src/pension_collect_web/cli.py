"""``pension-collect web``: serve the clerk's web front end; ``web adduser``
and ``web unlock`` manage the clerk accounts (docs/cli.md, docs/web.md).

Errors are one line in English and Chinese, exit status 2 (a
:class:`~pension_collect_web.errors.WebError` the CLI prints).
"""

from __future__ import annotations

import argparse
import errno
import getpass
import os
import socket
import sys
from pathlib import Path
from typing import Any

from pension_collect.errors import PensionCollectError
from pension_collect.model import YearMonth
from pension_collect.text import printable

from .config import DEFAULT_ACCOUNTS, DEFAULT_BUREAU, DEFAULT_STORE, WebConfig
from .errors import WebError
from .proxies import trusted_networks

__all__ = ["ENV_PASSWORD", "add_parser"]

#: The new clerk's password for ``web adduser`` (else it is asked twice at a terminal).
ENV_PASSWORD = "PENSION_COLLECT_WEB_PASSWORD"
_ENV_STORE = "PENSION_COLLECT_STORE"
_ENV_BUREAU = "PENSION_COLLECT_BUREAU"
_ENV_BUREAU_PASSWORD = "PENSION_COLLECT_BUREAU_PASSWORD"
_ENV_AS_OF = "PENSION_COLLECT_AS_OF"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``web`` (and its ``adduser``, ``unlock``) to the CLI's subparsers."""
    p = subparsers.add_parser(
        "web",
        help="serve the clerk's web front end (docs/web.md)",
        description="Serve the clerk's web front end with gunicorn; 'web adduser' creates "
        "a clerk account first. Stops on SIGTERM or Ctrl-C.",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help=f"the collection's store (default ${_ENV_STORE}, else {DEFAULT_STORE})",
    )
    p.add_argument(
        "--bureau",
        metavar="URL",
        help=f"the bureau: local:DIR or http(s)://HOST:PORT (default ${_ENV_BUREAU}, "
        f"else {DEFAULT_BUREAU})",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument("--port", type=int, default=8080, help="the port (default 8080; 0: a free one)")
    _accounts_option(p, argparse_default=None)
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn worker processes (default 2; always 1 with the memory: store)",
    )
    p.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark the session cookie Secure (behind an https proxy; it is anyway over https)",
    )
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (address or network, repeatable) whose X-Forwarded-For gives "
        "the client's address for sign-in limits (default: none, no header is read)",
    )
    p.add_argument(
        "--session-minutes",
        type=int,
        default=480,
        help="minutes a sign-in lasts (default 480)",
    )
    p.add_argument(
        "--as-of",
        metavar="YYYY-MM",
        help=f"the collection month for the rules (default ${_ENV_AS_OF}, else this month)",
    )
    p.set_defaults(run=_serve)
    sub = p.add_subparsers(dest="web_command", metavar="SUBCOMMAND")
    add = sub.add_parser(
        "adduser",
        help="create a clerk account",
        description=f"Create a clerk account of an employer. The password comes from "
        f"${ENV_PASSWORD}, else it is asked twice at a terminal (never an argument).",
    )
    add.add_argument("name", help="the clerk's name (the audit log's 'who')")
    add.add_argument("--unit", required=True, metavar="UNIT_NO", help="the employer's unit number")
    _accounts_option(add, argparse_default=argparse.SUPPRESS)
    add.set_defaults(run=_adduser)
    unlock = sub.add_parser(
        "unlock",
        help="lift the locks of a clerk account after failed sign-ins (from every address)",
        description="Lift the locks of a clerk account from every client address and forget "
        "its failed sign-ins.",
    )
    unlock.add_argument("name", help="the clerk's name")
    _accounts_option(unlock, argparse_default=argparse.SUPPRESS)
    unlock.set_defaults(run=_unlock)


def _accounts_option(parser: argparse.ArgumentParser, *, argparse_default: Any) -> None:
    parser.add_argument(
        "--accounts",
        metavar="FILE",
        default=argparse_default,
        help=f"the clerk accounts' file (default {DEFAULT_ACCOUNTS} in the current folder)",
    )


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _accounts_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "accounts", None) or DEFAULT_ACCOUNTS)


def _bad(message: str, message_zh: str) -> WebError:
    return WebError("web.bad-option", message, message_zh)


# -- adduser, unlock ---------------------------------------------------------------------


def _new_password() -> str:
    value = _env(ENV_PASSWORD)
    if value:
        return value
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            first = getpass.getpass("password (密码): ")
            again = getpass.getpass("password again (再次输入密码): ")
        except EOFError:
            first, again = "", "-"
        if first and first == again:
            return first
        raise WebError(
            "web.password-mismatch",
            "the two passwords differ (or are empty); no account was created",
            "两次输入的密码不一致(或为空),未创建账户",
        )
    raise WebError(
        "web.password-missing",
        f"give the password in ${ENV_PASSWORD} or run the command at a terminal to be "
        "asked (never as an argument)",
        f"请在环境变量 {ENV_PASSWORD} 中给出密码,或在终端中运行以便输入(不要写在命令行上)",
    )


def _adduser(args: argparse.Namespace) -> int:
    from .accounts import ClerkAccounts, check_name

    name = check_name(args.name)
    password = _new_password()
    path = _accounts_path(args)
    accounts = _open_accounts(path)
    try:
        clerk = accounts.add(name, args.unit, password)
    finally:
        accounts.close()
    del ClerkAccounts
    print(
        f"clerk {printable(clerk.name)} of employer {printable(clerk.unit_no)} created in "
        f"{printable(str(path))} (已创建用户)",
        flush=True,
    )
    return 0


def _unlock(args: argparse.Namespace) -> int:
    path = _accounts_path(args)
    if not path.exists():
        raise _no_accounts(path)
    accounts = _open_accounts(path)
    try:
        accounts.unlock(args.name)
    finally:
        accounts.close()
    print(f"clerk {printable(args.name)} unlocked (已解锁)", flush=True)
    return 0


def _open_accounts(path: Path) -> Any:
    from .accounts import ClerkAccounts

    try:
        return ClerkAccounts(path)
    except (OSError, _sqlite_error()) as exc:
        raise WebError(
            "web.accounts-unreadable",
            f"cannot open the accounts file {printable(str(path))}: "
            f"{getattr(exc, 'strerror', None) or type(exc).__name__}",
            f"无法打开账户文件 {printable(str(path))}",
        ) from None


def _sqlite_error() -> type[Exception]:
    import sqlite3

    return sqlite3.Error


def _no_accounts(path: Path) -> WebError:
    return WebError(
        "web.no-account",
        f"there is no clerk account in {printable(str(path))}: create one first with "
        "'pension-collect web adduser NAME --unit UNIT_NO' (and the same --accounts)",
        f"{printable(str(path))} 中没有用户账户:请先运行 "
        "'pension-collect web adduser 用户名 --unit 单位编号' 创建账户",
    )


# -- serving ---------------------------------------------------------------------------------


def _cannot_listen(host: str, port: int) -> WebError | None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return _bad(f"cannot listen on {host!r}: no such address", "无法监听该地址")
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            return _bad(f"cannot listen on {host}:{port}: {reason}", "无法监听该地址和端口")
    return None


def _config(args: argparse.Namespace) -> WebConfig:
    if not 0 <= args.port <= 65535:
        raise _bad("--port must be from 0 to 65535", "--port 应为 0 至 65535")
    if args.workers < 1:
        raise _bad("--workers must be at least 1", "--workers 至少为 1")
    if not 1 <= args.session_minutes <= 7 * 24 * 60:
        raise _bad(
            "--session-minutes must be from 1 to 10080 (a week)",
            "--session-minutes 应为 1 至 10080(一周)",
        )
    as_of = None
    text = args.as_of or _env(_ENV_AS_OF)
    if text:
        try:
            as_of = YearMonth.parse(str(text))
        except (ValueError, PensionCollectError):
            raise _bad(
                f"--as-of must be a month YYYY-MM, not {printable(str(text)[:20])!r}",
                "--as-of 应为年月 YYYY-MM",
            ) from None
    bureau = str(args.bureau or _env(_ENV_BUREAU) or DEFAULT_BUREAU)
    password = None
    if bureau.lower() == "local:":
        raise _bad(
            "--bureau local: is a new, empty bureau in each worker process; give local:DIR "
            "or the bureau's http(s) address",
            "--bureau local: 在每个进程中都是新的空社保系统;"
            "请指定 local:目录 或社保系统的 http(s) 地址",
        )
    if bureau.lower().startswith(("http://", "https://")):
        password = _env(_ENV_BUREAU_PASSWORD)
        if password is None:
            raise WebError(
                "web.bureau-password-missing",
                f"the bureau {printable(bureau)} needs the employer's password: set "
                f"${_ENV_BUREAU_PASSWORD} (never an argument)",
                f"访问社保系统需要单位密码:请设置环境变量 {_ENV_BUREAU_PASSWORD}",
            )
    return WebConfig(
        store_url=str(args.store or _env(_ENV_STORE) or DEFAULT_STORE),
        bureau_url=bureau,
        accounts_path=_accounts_path(args),
        host=args.host,
        port=args.port,
        workers=args.workers,
        secure_cookies=args.secure_cookies,
        trusted_proxies=tuple(str(n) for n in trusted_networks(args.trusted_proxy)),
        session_minutes=args.session_minutes,
        as_of=as_of,
        bureau_password=password,
    )


def _check_bureau(bureau: str) -> None:
    """A ``local:DIR`` bureau must be there: opening it would make a new, empty one."""
    if bureau.lower().startswith("local:"):
        from pension_collect.adapters.bureau_sqlite import BUREAU_DB

        folder = bureau[len("local:") :]
        if folder.startswith("//"):
            folder = folder[2:]
        if not os.path.lexists(os.path.join(folder, BUREAU_DB)):
            raise WebError(
                "web.no-bureau",
                f"there is no bureau at {printable(bureau)} (no {BUREAU_DB} there): give the "
                "folder 'pension-collect bureau seed --data DIR' filled, or the bureau's "
                "http(s) address, with --bureau",
                f"{printable(bureau)} 处没有社保系统数据:请用 --bureau 指定 "
                "'pension-collect bureau seed --data 目录' 所用的目录,或社保系统的 http(s) 地址",
            )


def _serve(args: argparse.Namespace) -> int:
    config = _config(args)
    path = config.accounts_path
    if not path.exists():
        raise _no_accounts(path)
    accounts = _open_accounts(path)
    try:
        if accounts.count() == 0:
            raise _no_accounts(path)
    finally:
        accounts.close()
    _check_bureau(config.bureau_url)
    from .context import WebState

    WebState(config).close()  # the store and the bureau open, before any worker starts
    problem = _cannot_listen(config.host, config.port)
    if problem is not None:
        raise problem
    from .server import WebServer

    if config.host not in _LOOPBACK and not config.secure_cookies:
        print(
            f"pension-collect web: listening on {printable(config.host)}, beyond this machine, "
            "over plain http: put an https proxy in front and add --secure-cookies "
            "(对外提供服务时请使用 https 反向代理并加 --secure-cookies)",
            file=sys.stderr,
            flush=True,
        )

    def ready(url: str) -> None:
        workers = config.serving_workers
        print(
            f"pension-collect web: serving {url} ({workers} worker{'s' if workers != 1 else ''})",
            flush=True,
        )

    try:
        WebServer(config, on_ready=ready).run()
    except SystemExit as exc:  # the arbiter ends with sys.exit
        return exc.code if isinstance(exc.code, int) else 0
    return 0
