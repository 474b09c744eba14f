"""``konsilo``: serve, demo, import, count, export, worker, manage.

Bad input exits with status 2 and one line on stderr; nothing prints a traceback at people.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input at the command line: one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _data_dir() -> Path:
    path = Path(os.environ.get("KONSILO_DATA_DIR") or Path.cwd() / "data").resolve()
    os.environ["KONSILO_DATA_DIR"] = str(path)
    return path


def setup_django() -> None:
    """Configure Django for a command; the SQLite data directory is created if needed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "konsilo.web.settings")
    if not os.environ.get("DATABASE_URL"):
        path = _data_dir()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"KONSILO_DATA_DIR {path} cannot be created: {exc.strerror}") from None
    import django

    django.setup()


def migrate(verbosity: int = 0) -> None:
    """Apply pending migrations (a new SQLite database is created on first start)."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=verbosity)


# -- serve and demo -------------------------------------------------------------------------


def _serve(host: str, port: int, threads: int) -> int:
    from django.conf import settings
    from waitress import create_server

    from konsilo.web.checks import production_problems
    from konsilo.web.wsgi import application

    problems = production_problems()
    if problems:
        raise UsageError("production mode refuses to start: " + "; ".join(problems))
    if settings.PRODUCTION:
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
    try:
        server = create_server(application, host=host, port=port, threads=threads, ident="konsilo")
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    if not settings.PRODUCTION:
        # In development the background worker (tasks, the record's sequencer) runs beside the
        # server; in production it is its own process: `konsilo worker`.
        from konsilo.web.worker import Worker

        Worker().start_thread()
    # Announce the address only once the socket is bound, so it is true when read.
    print(f"konsilo is running at http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    server.run()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    setup_django()
    from konsilo.web.checks import production_problems

    problems = production_problems()
    if problems:
        raise UsageError("production mode refuses to start: " + "; ".join(problems))
    if not args.no_migrate:
        migrate()
    return _serve(args.host, args.port, args.threads)


def cmd_demo(args: argparse.Namespace) -> int:
    setup_django()
    migrate()
    from konsilo.web.demo import load_demo

    info = load_demo()
    org = info.organisation
    state = "loaded" if info.created else "already loaded"
    print(
        f"Demo federation {state}: {org.name} ({org.councils.count()} councils,"
        f" {org.members.count()} members)"
    )
    print("Demo logins (username / password):")
    roles = {"steward": "steward", "delegate": "delegate", "member": "plain member"}
    for username, password in info.logins.items():
        print(f"  {roles[username]:<13} {username} / {password}")
    if args.no_serve:
        return 0
    return _serve(args.host, args.port, args.threads)


# -- import ---------------------------------------------------------------------------------


def cmd_import_members(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    setup_django()
    migrate()
    from konsilo.web.councils import member_import
    from konsilo.web.councils.models import Organisation
    from konsilo.web.errors import KonsiloError

    organisation = Organisation.objects.filter(slug=args.org).first()
    if organisation is None:
        raise UsageError(f"--org: no organisation {args.org!r}")
    progress = None
    bar: Any = None
    if sys.stderr.isatty() and not args.quiet:
        from tqdm import tqdm

        bar = tqdm(unit=" members", desc="importing", file=sys.stderr)
        progress = bar.update
    try:
        with path.open("rb") as stream:
            report = member_import.import_members(
                actor=None,
                organisation=organisation,
                stream=stream,
                size=path.stat().st_size,
                skip_invalid=args.skip_invalid,
                progress=progress,
            )
    except KonsiloError as exc:
        raise UsageError(f"{path}: {exc.message}") from None
    finally:
        if bar is not None:
            bar.close()
    if report.errors and not args.skip_invalid:
        for error in report.errors[:50]:
            sys.stderr.write(f"{path}: {error}\n")
        more = len(report.errors) - 50
        if more > 0:
            sys.stderr.write(f"{path}: … and {more} more problems\n")
        sys.stderr.write(
            f"{path}: {report.rejected} invalid row(s); nothing was imported"
            " (use --skip-invalid to import the valid rows)\n"
        )
        return EXIT_USAGE
    if report.errors:
        rejects = Path(args.rejects or f"{path.with_suffix('')}.rejected.csv")
        with rejects.open("w", encoding="utf-8", newline="") as out:
            member_import.write_rejects(report, out)
        print(f"{report.rejected} invalid row(s) skipped and written to {rejects}")
    print(
        f"{report.rows} rows: {report.created} new, {report.updated} updated,"
        f" {report.unchanged} unchanged, {report.rejected} rejected"
    )
    return 0


# -- the record: export and worker ----------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out}: exists and is not an empty directory")
    setup_django()
    migrate()
    from konsilo.web.councils.models import Organisation
    from konsilo.web.ledger.export import ExportError, export

    if not Organisation.objects.filter(slug=args.org).exists():
        raise UsageError(f"no organisation {args.org!r}")
    try:
        report = export(slug=args.org, out=out)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    print(
        f"exported {report.size} entries, {report.checkpoints} checkpoints and"
        f" {report.texts} long texts of {args.org} to {out}"
    )
    if report.refused:
        sys.stderr.write(f"konsilo export: the sequencer refused to sign: {report.refused}\n")
        return 1
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    setup_django()
    from konsilo.web.checks import production_problems

    problems = production_problems()
    if problems:
        raise UsageError("production mode refuses to start: " + "; ".join(problems))
    if not args.no_migrate:
        migrate()
    import signal

    from konsilo.web.worker import Worker

    worker = Worker(interval=args.interval)
    # systemd and containers stop with SIGTERM: finish the round, drop the heartbeat, exit.
    signal.signal(signal.SIGTERM, lambda signum, frame: worker.stop())
    print(f"konsilo worker {worker.worker_id} is running (Ctrl-C stops it)", flush=True)
    worker.run()
    return 0


# -- count and manage -----------------------------------------------------------------------


def cmd_manage(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["konsilo manage", *args.rest])
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="konsilo", description="Council democracy with a public record.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=os.environ.get("KONSILO_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("KONSILO_PORT", "8000")))
        p.add_argument("--threads", type=int, default=8)

    serve = sub.add_parser("serve", help="run the web server (migrates the database first)")
    server_options(serve)
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="load the demo federation and serve it")
    server_options(demo)
    demo.add_argument("--no-serve", action="store_true", help="load the demo and exit")
    demo.set_defaults(func=cmd_demo)

    imp = sub.add_parser("import", help="import data")
    imp_sub = imp.add_subparsers(dest="what", required=True, parser_class=Parser)
    members = imp_sub.add_parser("members", help="import a member list from CSV")
    members.add_argument("file", help="CSV file: name, email, base[, secondary, categories]")
    members.add_argument("--org", required=True, help="the organisation's slug")
    members.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows, write the others out"
    )
    members.add_argument(
        "--rejects", help="where to write skipped rows (default FILE.rejected.csv)"
    )
    members.add_argument("--quiet", action="store_true", help="no progress bar")
    members.set_defaults(func=cmd_import_members)

    try:
        from konsilo.cli import count as count_cli
    except ImportError:
        count_cli = None  # type: ignore[assignment]
    if count_cli is not None:
        count = sub.add_parser("count", help="count a ballot file (BLT, PrefLib, CSV)")
        count_cli.add_arguments(count)
        count.set_defaults(func=count_cli.run)

    exp = sub.add_parser("export", help="export an organisation's public record to files")
    exp.add_argument("org", help="the organisation's slug")
    exp.add_argument("--out", required=True, help="a new or empty directory")
    exp.set_defaults(func=cmd_export)

    worker = sub.add_parser(
        "worker", help="run background tasks and the record's sequencer (production)"
    )
    worker.add_argument("--interval", type=float, default=None, help="seconds between rounds")
    worker.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
    worker.set_defaults(func=cmd_worker)

    from konsilo.cli import verify as verify_cli

    verify = sub.add_parser("verify", help="verify an export, or a live log (--url)")
    verify_cli.add_arguments(verify)
    verify.set_defaults(func=verify_cli.run)

    manage = sub.add_parser("manage", help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        sys.stderr.write(f"konsilo {args.command}: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
