"""The konsilo command: demo, import, serve's production checks, and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from konsilo.cli.main import main
from konsilo.web.councils.models import Member
from tests.personas import Federation


def konsilo(
    *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "konsilo.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
        **kwargs,
    )


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KONSILO_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parents[2] / "src"), env.get("PYTHONPATH", "")]
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test_demo_loads_a_federation_into_the_chosen_data_dir(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    result = konsilo("demo", "--no-serve", env=env)
    assert result.returncode == 0, result.stderr
    assert "Demo federation loaded" in result.stdout
    assert "steward / konsilo-steward" in result.stdout
    assert "delegate / konsilo-delegate" in result.stdout
    assert "member / konsilo-member" in result.stdout
    assert (tmp_path / "data" / "konsilo.sqlite3").exists()
    again = konsilo("demo", "--no-serve", env=env)
    assert again.returncode == 0
    assert "already loaded" in again.stdout


def test_production_mode_refuses_to_start_without_secret_and_hosts(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path) | {"KONSILO_PRODUCTION": "1"}
    env.pop("KONSILO_SECRET_KEY", None)
    env.pop("KONSILO_ALLOWED_HOSTS", None)
    result = konsilo("serve", "--port", "8765", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "KONSILO_SECRET_KEY" in lines[0]
    assert "KONSILO_ALLOWED_HOSTS" in lines[0]


def test_unknown_command_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_import_members_from_the_command_line(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text("name,email,base\nAda,ada@example.org,press\nBo,bo@example.org,dairy\n")
    assert main(["import", "members", str(csv_file), "--org", "fed", "--quiet"]) == 0
    assert "2 new" in capsys.readouterr().out
    assert Member.objects.filter(email__in=["ada@example.org", "bo@example.org"]).count() == 2
    assert main(["import", "members", str(csv_file), "--org", "fed", "--quiet"]) == 0
    assert "2 unchanged" in capsys.readouterr().out


def test_import_with_bad_rows_imports_nothing_and_exits_2(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text("name,email,base\nAda,ada@example.org,press\nBo,nope,atlantis\n")
    assert main(["import", "members", str(csv_file), "--org", "fed", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "line 3, column email" in err
    assert "line 3, column base" in err
    assert "nothing was imported" in err
    assert not Member.objects.filter(email="ada@example.org").exists()


def test_import_skip_invalid_writes_the_rejects(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text("name,email,base\nAda,ada@example.org,press\nBo,nope,press\n")
    rejects = tmp_path / "bad.csv"
    code = main(
        [
            "import",
            "members",
            str(csv_file),
            "--org",
            "fed",
            "--skip-invalid",
            "--rejects",
            str(rejects),
            "--quiet",
        ]
    )
    assert code == 0
    assert "nope" in rejects.read_text()
    assert Member.objects.filter(email="ada@example.org").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["import", "members", "/nonexistent.csv", "--org", "fed"], "no such file"),
        (["import", "members", "{csv}", "--org", "atlantis"], "no organisation 'atlantis'"),
        (["import", "members", "{empty}", "--org", "fed"], "empty"),
        (["import", "members", "{latin1}", "--org", "fed"], "not UTF-8"),
        (["import", "members", "{nocols}", "--org", "fed"], "missing column(s)"),
    ],
)
def test_unusable_import_input_is_one_line_and_status_2(
    fed: Federation,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected: str,
) -> None:
    files = {
        "csv": tmp_path / "ok.csv",
        "empty": tmp_path / "empty.csv",
        "latin1": tmp_path / "latin1.csv",
        "nocols": tmp_path / "nocols.csv",
    }
    files["csv"].write_text("name,email,base\nAda,ada@example.org,press\n")
    files["empty"].write_bytes(b"")
    files["latin1"].write_bytes("name,email,base\nZo\xe9,z@example.org,press\n".encode("latin-1"))
    files["nocols"].write_text("name\nAda\n")
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert expected in err[0]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serves_the_federation_over_http(tmp_path: Path) -> None:
    """README's first command: load the demo and serve it; a member can log in."""
    import http.cookiejar
    import re
    import urllib.parse
    import urllib.request

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "konsilo.cli", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_sqlite_env(tmp_path),
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "running at" in line:
                break
        if not any("running at" in line for line in lines):
            # The demo stopped before serving: say why.
            assert proc.stderr is not None
            pytest.fail(f"exit {proc.wait(timeout=30)}: {''.join(lines)}{proc.stderr.read()}")
        assert f"http://127.0.0.1:{port}/" in "".join(lines)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_url = f"http://127.0.0.1:{port}/accounts/login/"
        page = opener.open(login_url, timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1),
                "username": "member",
                "password": "konsilo-member",
            }
        ).encode()
        request = urllib.request.Request(login_url, data=form, headers={"Referer": login_url})
        opener.open(request, timeout=30)
        tree = opener.open(f"http://127.0.0.1:{port}/o/demo/", timeout=30).read().decode()
        assert "Federation of Workplace Cooperatives" in tree
        assert "Congress" in tree
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_one_gigabyte_file_is_refused_without_reading_it(
    fed: Federation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as f:
        f.truncate(1_000_000_000)  # sparse: costs no disk and no time
    assert main(["import", "members", str(huge), "--org", "fed", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "1.0 GB" in err[0]
    assert "limit" in err[0]
