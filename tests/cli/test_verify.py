"""``konsilo verify``: an export folder or a live log; exit 0, 1 (failed) and 2 (unusable)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from konsilo import canonical
from konsilo.cli.main import main
from konsilo.record import (
    Checkpoint,
    MemoryHashReader,
    Signer,
    encode_entry_bundle,
    entry_bundles_for_size,
    leaf_hash,
    read_tile,
    sign_checkpoint,
    tiles_for_size,
    tree_root,
)
from tests.record.records import RecordBuilder, federation

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    builder = RecordBuilder()
    federation(builder)
    return builder.write_export(tmp_path / "export")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_good_export_verifies_with_a_summary(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, str(export))
    assert code == 0, err
    assert "verified the record of fed (konsilo.test/log/fed)" in out
    assert "entries                12" in out
    assert "checkpoints            12 signed" in out
    assert "signed tree head       size 12, root " in out
    assert "decisions recounted    0" in out
    assert "censuses re-derived    1" in out
    assert "elapsed" in out


def test_json_summary(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(export), "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["ok"], data["entries"], data["checkpoints"], data["size"]) == (True, 12, 12, 12)


def test_a_changed_entry_exits_1_with_its_index(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (export / "entries.jsonl").read_bytes().split(b"\n")
    lines[7] = lines[7].replace(b'"Ana"', b'"Mallory"')
    (export / "entries.jsonl").write_bytes(b"\n".join(lines))
    code, out, _ = _run(capsys, str(export))
    assert code == 1
    assert out.startswith("FAILED at entry 7: entry 7 does not hash to the signed root")


def test_a_deleted_entry_exits_1(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (export / "entries.jsonl").read_bytes().split(b"\n")
    del lines[3]
    (export / "entries.jsonl").write_bytes(b"\n".join(lines))
    code, out, _ = _run(capsys, str(export), "--json")
    assert code == 1
    assert json.loads(out)["failure"]["index"] == 3


def test_a_key_that_did_not_sign_exits_1(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Signer("konsilo.test/log/fed", Ed25519PrivateKey.generate())
    key = tmp_path / "trusted.key"
    key.write_text(other.vkey + "\n")
    code, out, _ = _run(capsys, str(export), "--key", str(key))
    assert code == 1
    assert "no signature by a known key" in out


def test_verify_imports_no_django(export: Path) -> None:
    script = (
        "import sys; from konsilo.cli.main import main; "
        f"code = main(['verify', {str(export)!r}]); "
        "assert 'django' not in sys.modules, 'django imported'; sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "verified the record of fed" in result.stdout


def _break(export: Path, how: str) -> None:
    if how == "no manifest":
        (export / "manifest.json").unlink()
    elif how == "manifest not json":
        (export / "manifest.json").write_text("{not json")
    elif how == "wrong format":
        manifest = json.loads((export / "manifest.json").read_text())
        manifest["format"] = "other/1"
        (export / "manifest.json").write_bytes(canonical.dumps(manifest))
    elif how == "size not a number":
        manifest = json.loads((export / "manifest.json").read_text())
        manifest["size"] = "12"
        (export / "manifest.json").write_bytes(canonical.dumps(manifest))
    elif how == "no entries":
        (export / "entries.jsonl").unlink()
    elif how == "no checkpoints":
        for path in (export / "checkpoints").iterdir():
            path.unlink()
        (export / "checkpoints").rmdir()
    elif how == "stray checkpoint file":
        (export / "checkpoints" / "latest.txt").write_text("x")
    elif how == "stray text file":
        (export / "texts" / "notes.txt").write_text("x")
    elif how == "no verifier key":
        (export / "verifier.key").unlink()
    elif how == "verifier key differs from manifest":
        (export / "verifier.key").write_text(Signer("x", Ed25519PrivateKey.generate()).vkey + "\n")
    elif how == "last line without newline":
        data = (export / "entries.jsonl").read_bytes()
        (export / "entries.jsonl").write_bytes(data[:-1])


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("no manifest", "manifest.json: missing"),
        ("manifest not json", "not a JSON manifest"),
        ("wrong format", "expected format 'konsilo-export/1'"),
        ("size not a number", "expected size to be a int"),
        ("no entries", "entries.jsonl: missing"),
        ("no checkpoints", "checkpoints: missing"),
        ("stray checkpoint file", "20-digit tree size"),
        ("stray text file", "named by its SHA-256"),
        ("no verifier key", "verifier.key: missing"),
        ("verifier key differs from manifest", "differs from the manifest"),
        ("last line without newline", "line 12 does not end in a newline"),
    ],
)
def test_an_unusable_export_exits_2_with_one_line(
    export: Path, capsys: pytest.CaptureFixture[str], how: str, message: str
) -> None:
    _break(export, how)
    code, out, err = _run(capsys, str(export))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("konsilo verify: ")
    assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/export"], "no such folder"),
        ([], "name an export folder"),
        (["--url", "http://127.0.0.1:9/log/fed"], "--url needs --since"),
        (["DIR", "--url", "http://x/log/fed"], "not both"),
        (["DIR", "--since", "cp.txt"], "--since and --save go with --url"),
        (["DIR", "--key", "/nonexistent.key"], "no such key file"),
    ],
)
def test_bad_arguments_exit_2(
    export: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    args = [str(export) if a == "DIR" else a for a in args]
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


def test_a_malformed_key_file_exits_2(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "bad.key"
    key.write_text("not-a-key\n")
    code, _, err = _run(capsys, str(export), "--key", str(key))
    assert code == 2
    assert "not a verifier key" in err


# -- a live log -----------------------------------------------------------------------------


class StaticLog:
    """A log served as static tlog-tiles from memory, the way any CDN could serve it."""

    def __init__(self, builder: RecordBuilder) -> None:
        self.builder = builder
        self.files: dict[str, bytes] = {}
        self.publish(builder.entries)

    def publish(self, entries: list[bytes], signer: Signer | None = None) -> None:
        leaves = [leaf_hash(e) for e in entries]
        store = MemoryHashReader.from_leaf_hashes(leaves)
        files = {t.path: read_tile(t, store) for t in tiles_for_size(len(leaves))}
        for bundle in entry_bundles_for_size(len(entries)):
            start = bundle.index * 256
            files[bundle.path] = encode_entry_bundle(entries[start : start + bundle.width])
        root = tree_root(len(leaves), store)
        signer = signer or self.builder.signer
        files["checkpoint"] = sign_checkpoint(
            Checkpoint(signer.name, len(leaves), root), signer
        ).encode()
        self.files = files


@pytest.fixture
def live() -> Iterator[tuple[StaticLog, str]]:
    builder = RecordBuilder()
    federation(builder)
    log = StaticLog(builder)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.removeprefix("/log/fed/")
            body = log.files.get(path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield log, f"http://127.0.0.1:{server.server_address[1]}/log/fed"
    finally:
        server.shutdown()
        server.server_close()


def _save_checkpoint(log: StaticLog, tmp_path: Path) -> Path:
    saved = tmp_path / "witness" / "fed.checkpoint"
    saved.parent.mkdir()
    saved.write_bytes(log.files["checkpoint"])
    (tmp_path / "witness" / "fed.checkpoint.vkey").write_text(log.builder.signer.vkey + "\n")
    return saved


def test_a_live_log_that_grew_is_consistent_with_the_saved_checkpoint(
    live: tuple[StaticLog, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, url = live
    saved = _save_checkpoint(log, tmp_path)
    for i in range(300):
        log.builder.add("council.renamed", {"key": "north", "name": f"North {i}"}, sign=False)
    log.publish(log.builder.entries)
    code, out, err = _run(capsys, "--url", url, "--since", str(saved), "--save")
    assert code == 0, err
    assert "saved checkpoint       size 12" in out
    assert "current checkpoint     size 312, signature verified" in out
    assert "consistency            proven with" in out
    assert saved.read_bytes() == log.files["checkpoint"]
    # The next run starts from the saved checkpoint: nothing new, nothing to prove.
    code, out, _ = _run(capsys, "--url", url, "--since", str(saved), "--json")
    assert code == 0
    assert json.loads(out)["old_size"] == json.loads(out)["new_size"] == 312


def test_a_rewritten_history_fails_the_live_check(
    live: tuple[StaticLog, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, url = live
    saved = _save_checkpoint(log, tmp_path)
    rewritten = list(log.builder.entries)
    rewritten[7] = rewritten[7].replace(b'"Ana"', b'"Mallory"')
    assert rewritten[7] != log.builder.entries[7]
    rewritten.append(rewritten[-1].replace(b'"index":11', b'"index":12'))
    log.publish(rewritten)  # signed with the log's own key: only consistency can tell
    code, out, _ = _run(capsys, "--url", url, "--since", str(saved))
    assert code == 1
    assert out.startswith("FAILED: the log of size 13 is not consistent")
    assert "history was rewritten" in out


def test_a_live_checkpoint_with_a_foreign_signature_fails(
    live: tuple[StaticLog, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, url = live
    saved = _save_checkpoint(log, tmp_path)
    log.publish(log.builder.entries, Signer(log.builder.signer.name, Ed25519PrivateKey.generate()))
    code, out, _ = _run(capsys, "--url", url, "--since", str(saved))
    assert code == 1
    assert "the log's checkpoint does not verify" in out


def test_a_live_log_that_shrank_fails(
    live: tuple[StaticLog, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, url = live
    saved = _save_checkpoint(log, tmp_path)
    log.publish(log.builder.entries[:10])
    code, out, _ = _run(capsys, "--url", url, "--since", str(saved))
    assert code == 1
    assert out.startswith("FAILED at entry 10: the log now has 10 entries, fewer than the 12")
    assert "history was removed" in out
    code, out, _ = _run(capsys, "--url", url, "--since", str(saved), "--json")
    assert code == 1
    assert json.loads(out) == {
        "ok": False,
        "failure": {
            "code": "shrank",
            "index": 10,
            "reason": "the log now has 10 entries, fewer than the 12 of the saved checkpoint: "
            "history was removed",
        },
    }


def test_the_key_is_found_beside_an_exported_checkpoint(
    live: tuple[StaticLog, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, url = live
    export = log.builder.write_export(tmp_path / "export")
    code, _, err = _run(
        capsys, "--url", url, "--since", str(export / "checkpoints" / f"{12:020d}.txt")
    )
    assert code == 0, err


def test_an_unreachable_log_exits_2(
    live: tuple[StaticLog, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, _ = live
    saved = _save_checkpoint(log, tmp_path)
    code, _, err = _run(
        capsys, "--url", "http://127.0.0.1:9/log/fed", "--since", str(saved), "--timeout", "2"
    )
    assert code == 2
    assert "cannot connect" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no key", "no verifier key"),
        ("no saved file", "no such checkpoint file"),
        ("saved file not a checkpoint", "not a checkpoint signed by"),
        ("not http", "expected an http:// or https:// address"),
        ("not a log", "not found (is"),
    ],
)
def test_unusable_live_inputs_exit_2(
    live: tuple[StaticLog, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    message: str,
) -> None:
    log, url = live
    saved = _save_checkpoint(log, tmp_path)
    if setup == "no key":
        (tmp_path / "witness" / "fed.checkpoint.vkey").unlink()
    elif setup == "no saved file":
        saved.unlink()
    elif setup == "saved file not a checkpoint":
        saved.write_text("hello\n")
    elif setup == "not http":
        url = "ftp://example.org/log/fed"
    elif setup == "not a log":
        url = url.replace("/log/fed", "/log/other")
    code, _, err = _run(capsys, "--url", url, "--since", str(saved))
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
