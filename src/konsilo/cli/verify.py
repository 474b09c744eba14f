"""``konsilo verify``: check an export folder, or a live log against a saved checkpoint.

``konsilo verify DIR`` reads an export (RECORD-CONTRACT §2: manifest.json, entries.jsonl,
checkpoints/, verifier.key, texts/) with no database and no network, and runs
`konsilo.record.verify.verify_record` with the governance replay: every entry hashes to every
signed checkpoint, consecutive checkpoints are consistent, the entries replay, every tally is
recounted. ``--key FILE`` names the verifier key to trust instead of the export's own
verifier.key (a verifier should get the key from somewhere other than the export).

``konsilo verify --url https://host/log/ORG --since FILE`` does what a witness does: it fetches
the log's current checkpoint, checks its signature, fetches only the hash tiles needed for a
consistency proof from the saved checkpoint in FILE to the new one, and verifies that proof.
The verifier key is ``--key FILE``, else the companion ``FILE.vkey`` beside the saved
checkpoint, else the ``verifier.key`` of the export FILE came from (``DIR/checkpoints/X.txt``
→ ``DIR/verifier.key``). ``--save`` then replaces FILE with the new checkpoint (and writes
FILE.vkey), so the next run proves consistency from there.

Exit status: 0 verified; 1 verification failed (the first failing entry index and why on
stdout); 2 unusable input (one line on stderr).
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from konsilo.cli.main import UsageError
from konsilo.record import (
    CheckpointError,
    InvalidKeyError,
    MissingHashError,
    NoteError,
    ProofError,
    TileError,
    TileHashReader,
    Verifier,
    consistency_proof,
    open_checkpoint,
    verify_consistency,
)
from konsilo.record.verify import VerificationReport, verify_record

EXIT_FAILED = 1
EXPORT_FORMAT = "konsilo-export/1"
_CHECKPOINT_NAME = re.compile(r"[0-9]{20}\.txt")
_TEXT_NAME = re.compile(r"[0-9a-f]{64}")
_MAX_NOTE = 64 * 1024
_MAX_TILE = 256 * 32


class ExportError(Exception):
    """The export folder cannot be read as an export; the message names the file."""


class ExportSource:
    """An export folder as a `konsilo.record.verify.RecordSource`."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ExportError(f"{folder}: no such folder")
        self.folder = folder
        manifest_path = folder / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_bytes())
        except FileNotFoundError:
            raise ExportError(f"{manifest_path}: missing (is {folder} an export?)") from None
        except (OSError, ValueError) as exc:
            raise ExportError(f"{manifest_path}: not a JSON manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
            got = manifest.get("format") if isinstance(manifest, dict) else manifest
            raise ExportError(f"{manifest_path}: expected format {EXPORT_FORMAT!r}, got {got!r}")
        for name, kind in (("organisation", str), ("size", int), ("verifier_key", str)):
            if not isinstance(manifest.get(name), kind) or isinstance(manifest.get(name), bool):
                raise ExportError(
                    f"{manifest_path}: expected {name} to be a {kind.__name__}, "
                    f"got {manifest.get(name)!r}"
                )
        self.manifest: dict[str, Any] = manifest
        self.entries_path = folder / "entries.jsonl"
        if not self.entries_path.is_file():
            raise ExportError(f"{self.entries_path}: missing")
        self.checkpoint_dir = folder / "checkpoints"
        if not self.checkpoint_dir.is_dir():
            raise ExportError(f"{self.checkpoint_dir}: missing")
        self.checkpoint_files = sorted(self.checkpoint_dir.iterdir())
        for path in self.checkpoint_files:
            if not _CHECKPOINT_NAME.fullmatch(path.name) or not path.is_file():
                raise ExportError(
                    f"{path}: expected checkpoint files named by a 20-digit tree size, "
                    "such as 00000000000000001234.txt"
                )
        self.texts_dir = folder / "texts"
        self.text_names: list[str] = []
        if self.texts_dir.is_dir():
            for path in sorted(self.texts_dir.iterdir()):
                if not _TEXT_NAME.fullmatch(path.name):
                    raise ExportError(f"{path}: expected a long text named by its SHA-256 (hex)")
                self.text_names.append(path.name)

    @property
    def size(self) -> int:
        """The size the manifest claims."""
        return int(self.manifest["size"])

    @property
    def organisation(self) -> str:
        """The organisation the manifest names."""
        return str(self.manifest["organisation"])

    def verifier_key(self) -> str:
        """The export's own verifier key (verifier.key, which must agree with the manifest)."""
        path = self.folder / "verifier.key"
        try:
            key = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise ExportError(f"{path}: missing") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ExportError(f"{path}: cannot be read ({exc})") from None
        if key != self.manifest["verifier_key"]:
            raise ExportError(f"{path}: differs from the manifest's verifier_key")
        return key

    def read_entries(self) -> Iterator[bytes]:
        """Each line of entries.jsonl without its newline; every line must end in one."""
        with self.entries_path.open("rb") as stream:
            # Read in large blocks and split them: no copy or check per line.
            rest, number = b"", 0
            while block := stream.read(1 << 22):
                lines = (rest + block).split(b"\n")
                rest = lines.pop()
                number += len(lines)
                yield from lines
            if rest:
                raise ExportError(
                    f"{self.entries_path}: line {number + 1} does not end in a newline"
                )

    def read_checkpoints(self) -> Iterable[tuple[str, bytes]]:
        """Every checkpoint file, smallest size first, labelled by its path in the export."""
        for path in self.checkpoint_files:
            yield f"checkpoints/{path.name}", path.read_bytes()

    def read_text(self, sha256: str) -> bytes | None:
        """A long text from texts/, or None."""
        if sha256 not in self.text_names:
            return None
        return (self.texts_dir / sha256).read_bytes()

    def list_texts(self) -> Iterable[str]:
        """Every long text's name."""
        return list(self.text_names)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", help="an export folder (konsilo export ORG --out DIR)")
    parser.add_argument("--key", help="the verifier key file to trust (name+hex8+base64)")
    parser.add_argument("--url", help="a live log, https://host/log/ORG (with --since)")
    parser.add_argument("--since", help="with --url: a checkpoint saved earlier")
    parser.add_argument("--save", action="store_true", help="with --url: save the new checkpoint")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="with --url: seconds per request (10)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _read_key(path: Path) -> Verifier:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such key file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc})") from None
    return _verifier(text, str(path))


def _verifier(vkey: str, where: str) -> Verifier:
    try:
        return Verifier.from_vkey(vkey)
    except InvalidKeyError as exc:
        raise UsageError(f"{where}: not a verifier key: {exc}") from None


def run(args: argparse.Namespace) -> int:
    if args.url:
        if args.folder:
            raise UsageError("give either an export folder or --url, not both")
        return _run_url(args)
    if args.since or args.save:
        raise UsageError("--since and --save go with --url")
    if not args.folder:
        raise UsageError("name an export folder, or --url with --since")
    return _run_export(args)


def _run_export(args: argparse.Namespace) -> int:
    from konsilo.governance.replay import Replay

    started = time.perf_counter()
    try:
        source = ExportSource(Path(args.folder))
        own_key = source.verifier_key()
        verifier = _read_key(Path(args.key)) if args.key else _verifier(own_key, "verifier.key")
        progress = None
        if sys.stderr.isatty() and not args.quiet and not args.json:

            def progress(done: int) -> None:
                sys.stderr.write(f"\rverifying: {done:,} of {source.size:,} entries")
                sys.stderr.flush()

        replay = Replay(read_text=source.read_text)
        # The entries and the state replayed from them hold no reference cycles: the cycle
        # collector would only walk the growing state again and again, for nothing to free.
        collecting = gc.isenabled()
        gc.disable()
        try:
            report = verify_record(
                source,
                verifier,
                replayer=replay,
                organisation=source.organisation,
                size=source.size,
                progress=progress,
            )
        finally:
            if collecting:
                gc.enable()
        if progress is not None:
            sys.stderr.write("\n")
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{args.folder}: cannot be read ({exc.strerror or exc})") from None
    elapsed = time.perf_counter() - started
    _print_report(
        args,
        report=report,
        source=source,
        replay=replay,
        elapsed=elapsed,
        own_key=own_key == verifier.vkey,
    )
    return 0 if report.ok else EXIT_FAILED


def _print_report(
    args: argparse.Namespace,
    *,
    report: VerificationReport,
    source: ExportSource,
    replay: Any,
    elapsed: float,
    own_key: bool,
) -> None:
    s = report.summary
    if args.json:
        out: dict[str, Any] = {
            "ok": report.ok,
            "organisation": source.organisation,
            "origin": s.origin,
            "entries": s.entries,
            "checkpoints": s.checkpoints,
            "decisions_recounted": s.decisions_recounted,
            "mandates_rederived": s.mandates_rederived,
            "censuses_rederived": s.censuses_rederived,
            "vote_censuses_rederived": s.vote_censuses_rederived,
            "size": s.size,
            "root": base64.b64encode(s.root).decode(),
            "elapsed_seconds": round(elapsed, 3),
        }
        if report.failure is not None:
            out["failure"] = {
                "index": report.failure.index,
                "code": report.failure.code,
                "reason": report.failure.reason,
            }
        print(json.dumps(out, sort_keys=True))
        return
    if report.failure is not None:
        print(f"FAILED at entry {report.failure.index}: {report.failure.reason}")
        print(f"  ({report.failure.code}; {s.entries:,} entries read in {elapsed:.2f} s)")
        return
    graph = replay.graph
    print(f"verified the record of {source.organisation} ({s.origin})")
    print(f"  entries                {s.entries:,}")
    print(f"  checkpoints            {s.checkpoints:,} signed, each consistent with the last")
    print(f"  signed tree head       size {s.size:,}, root {base64.b64encode(s.root).decode()}")
    key_note = "the export's own key" if own_key else "the key given with --key"
    print(f"  verifier key           {key_note}")
    print(
        f"  replayed               {len(graph) if graph is not None else 0} councils, "
        f"{len(replay.members):,} members, {len(replay.offices)} offices"
    )
    print(f"  decisions recounted    {s.decisions_recounted:,}")
    print(f"  mandates re-derived    {s.mandates_rederived:,}")
    print(f"  censuses re-derived    {s.censuses_rederived:,}")
    print(f"  vote censuses          {s.vote_censuses_rederived:,} re-derived")
    print(f"  elapsed                {elapsed:.2f} s")


# -- a live log -----------------------------------------------------------------------------


class _Http:
    """GET with a timeout and a size limit; counts what it fetched."""

    def __init__(self, base: str, timeout: float) -> None:
        if not base.startswith(("http://", "https://")):
            raise UsageError(f"--url: expected an http:// or https:// address, got {base!r}")
        self.base = base.rstrip("/") + "/"
        self.timeout = timeout
        self.fetched: list[str] = []

    def get(self, path: str, limit: int) -> bytes | None:
        url = self.base + path
        request = urllib.request.Request(url, headers={"User-Agent": "konsilo-verify"})  # noqa: S310 (scheme checked)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                data: bytes = response.read(limit + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise UsageError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise UsageError(f"{url}: cannot connect ({exc.reason})") from None
        except TimeoutError:
            raise UsageError(f"{url}: no answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise UsageError(f"{url}: {exc}") from None
        if len(data) > limit:
            raise UsageError(f"{url}: the answer is over {limit:,} bytes")
        self.fetched.append(path)
        return data


def _companion_key(since: Path) -> Path | None:
    for candidate in (
        since.with_name(since.name + ".vkey"),
        since.parent.parent / "verifier.key",
    ):
        if candidate.is_file():
            return candidate
    return None


def _run_url(args: argparse.Namespace) -> int:
    if not args.since:
        raise UsageError("--url needs --since CHECKPOINT_FILE, a checkpoint saved earlier")
    started = time.perf_counter()
    since = Path(args.since)
    try:
        saved_note = since.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{since}: no such checkpoint file") from None
    except OSError as exc:
        raise UsageError(f"{since}: cannot be read ({exc.strerror})") from None
    key_path = Path(args.key) if args.key else _companion_key(since)
    if key_path is None:
        raise UsageError(
            f"no verifier key: pass --key FILE, or keep it beside the checkpoint as {since}.vkey"
        )
    verifier = _read_key(key_path)
    try:
        old = open_checkpoint(saved_note, verifier)
    except (NoteError, CheckpointError) as exc:
        raise UsageError(f"{since}: not a checkpoint signed by {verifier.name}: {exc}") from None
    http = _Http(args.url, args.timeout)
    note = http.get("checkpoint", _MAX_NOTE)
    if note is None:
        raise UsageError(f"{http.base}checkpoint: not found (is {args.url} a konsilo log?)")
    try:
        new = open_checkpoint(note, verifier)
    except (NoteError, CheckpointError) as exc:
        return _url_failed(
            args,
            "bad_signature",
            f"the log's checkpoint does not verify with {verifier.vkey}: {exc}",
        )
    if new.size < old.size:
        return _url_failed(
            args,
            "shrank",
            f"the log now has {new.size} entries, fewer than the {old.size} of the saved "
            "checkpoint: history was removed",
            index=new.size,
        )

    def fetch(path: str) -> bytes | None:
        return http.get(path, _MAX_TILE)

    try:
        reader = TileHashReader(new.size, fetch)
        proof = consistency_proof(old.size, new.size, reader)
        verify_consistency(
            old_size=old.size,
            new_size=new.size,
            old_root=old.root,
            new_root=new.root,
            proof=proof,
        )
    except (ProofError, MissingHashError, TileError) as exc:
        # A witness holds no entries, so it cannot say which one changed, only that the
        # tree of the saved checkpoint is not inside the log's tree any more.
        return _url_failed(
            args,
            "inconsistent_checkpoint",
            f"the log of size {new.size} is not consistent with the saved checkpoint of size "
            f"{old.size}: {exc}",
            note="the log's history was rewritten after the saved checkpoint was signed",
        )
    elapsed = time.perf_counter() - started
    if args.save:
        _save(since, note, verifier)
    tiles = len(http.fetched) - 1
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "origin": new.origin,
                    "old_size": old.size,
                    "new_size": new.size,
                    "tiles_fetched": tiles,
                    "saved": bool(args.save),
                    "elapsed_seconds": round(elapsed, 3),
                },
                sort_keys=True,
            )
        )
        return 0
    print(f"verified the live log {new.origin}")
    print(f"  saved checkpoint       size {old.size:,}")
    print(f"  current checkpoint     size {new.size:,}, signature verified")
    print(f"  consistency            proven with {len(proof)} hashes from {tiles} tiles")
    if args.save:
        print(f"  saved                  {since}")
    print(f"  elapsed                {elapsed:.2f} s")
    return 0


def _url_failed(
    args: argparse.Namespace,
    code: str,
    reason: str,
    *,
    index: int | None = None,
    note: str = "",
) -> int:
    """Report a failed live check (text or JSON) and return exit status 1."""
    if args.json:
        failure: dict[str, Any] = {"code": code, "reason": reason}
        if index is not None:
            failure["index"] = index
        print(json.dumps({"ok": False, "failure": failure}, sort_keys=True))
        return EXIT_FAILED
    where = f" at entry {index}" if index is not None else ""
    print(f"FAILED{where}: {reason}")
    if note:
        print(f"  {note}")
    return EXIT_FAILED


def _save(since: Path, note: bytes, verifier: Verifier) -> None:
    try:
        tmp = since.with_name(since.name + ".tmp")
        tmp.write_bytes(note)
        os.replace(tmp, since)
        companion = since.with_name(since.name + ".vkey")
        if not companion.exists():
            companion.write_text(verifier.vkey + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{since}: cannot save the new checkpoint ({exc.strerror})") from None
