"""``konsilo count``: tables a person can follow, canonical JSON, and one line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from konsilo.cli.count import number
from konsilo.cli.main import main
from konsilo.counting import budget, cardinal, meek, schulze, stv
from konsilo.counting.ballot_csv import read_scores
from konsilo.counting.blt import read_blt, write_blt
from konsilo.counting.preflib import read_preflib
from konsilo.counting.profile import RankedProfile

PREFLIB = Path(__file__).parents[1] / "counting" / "data" / "preflib"
DEBIAN_TOC = PREFLIB / "debian_2002_excerpt.toc"
SRC = Path(__file__).parents[2] / "src"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test_schulze_prints_a_table_and_the_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["count", str(DEBIAN_TOC), "--method", "schulze"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("schulze (")
    assert any(line.startswith("round") for line in lines)
    assert any(line.startswith("Bdale Garbee") and line.endswith("*") for line in lines)
    assert "Bdale Garbee is better than or equal to every other: elected" in out


def test_json_is_the_canonical_result_of_the_same_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["count", str(DEBIAN_TOC), "--method", "schulze", "--json"]) == 0
    expected = schulze.count(read_preflib(DEBIAN_TOC.read_text()).profile).to_json()
    assert capsys.readouterr().out.encode() == expected + b"\n"


def test_plurality_for_two_seats_marks_both_and_shows_the_threshold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["count", str(DEBIAN_TOC), "--method", "plurality", "--seats", "2"]) == 0
    rows = {line.split("  ")[0].strip(): line for line in capsys.readouterr().out.splitlines()}
    assert rows["Bdale Garbee"].endswith("209 *")
    assert rows["Branden Robinson"].endswith("125 *")
    assert rows["Raphael Hertzog"].endswith("86")
    assert rows["threshold"].endswith("125")


WARD_BLT = '4 2\n-4\n3 1 2 0\n2 2 1 3 0\n1 3 0\n1 4 0\n0\n"Ana"\n"Bea"\n"Cem"\n"Dan"\n"Ward 7"\n'


def test_seats_come_from_the_blt_header_and_withdrawn_candidates_stand_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ballots = tmp_path / "ward.blt"
    ballots.write_text(WARD_BLT)
    assert main(["count", str(ballots), "--method", "plurality", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rule"]["seats"] == 2
    assert result["winners"] == ["Ana", "Bea"]
    assert "Dan" not in result["rounds"][0]["tallies"]  # withdrawn: the one ballot is blank
    assert result["rounds"][0]["exhausted"] == "1"


def test_scottish_stv_prints_rounds_with_the_quota_and_json_is_the_same_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ballots = tmp_path / "ward.blt"
    ballots.write_text(WARD_BLT)
    assert main(["count", str(ballots), "--method", "stv", "--rule", "scottish"]) == 0
    out = capsys.readouterr().out
    expected = stv.count(read_blt(WARD_BLT).profile, seats=2, rule="scottish")
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    assert rows["quota"].split()[-1] == number(expected.rounds[0].threshold)
    for winner in expected.winners:
        assert "*" in rows[winner]
    assert expected.summary in out
    assert main(["count", str(ballots), "--method", "stv", "--rule", "scottish", "--json"]) == 0
    assert capsys.readouterr().out.encode() == expected.to_json() + b"\n"


def test_many_rounds_print_in_blocks_that_fit_the_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [f"Candidate {i:02d}" for i in range(24)]
    profile = RankedProfile.from_indices(
        names, [[(i * 7 + k) % 24 for k in range(24)] for i in range(24)], list(range(1, 25))
    )
    ballots = tmp_path / "many.blt"
    ballots.write_text(write_blt(profile, 1))
    assert main(["count", str(ballots), "--method", "irv"]) == 0
    table = capsys.readouterr().out.split("* elected")[0].splitlines()
    assert max(map(len, table)) <= 100
    headers = [line for line in table if line.startswith("round")]
    assert len(headers) > 1
    rounds = [int(n) for line in headers for n in line.split()[1:]]
    assert rounds == list(range(1, len(rounds) + 1))


def test_meek_counts_a_blt_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ballots = tmp_path / "ward.blt"
    ballots.write_text(WARD_BLT)
    assert main(["count", str(ballots), "--method", "meek", "--json"]) == 0
    expected = meek.count(read_blt(WARD_BLT).profile, seats=2)
    assert capsys.readouterr().out.encode() == expected.to_json() + b"\n"


TIE_BLT = """3 2
[nick apple banana cherry]
{tie}3 apple 0
0
"Apple"
"Banana"
"Cherry"
"Vegetable contest"
"""


@pytest.mark.parametrize(
    ("tie_line", "elected"),
    [
        # stv-rs testdata/ties: the first candidate of the tie order is the one excluded.
        ("[tie cherry banana apple]\n", ["Apple", "Banana"]),
        ("", ["Apple", "Cherry"]),
    ],
)
def test_meek_settles_ties_by_the_blt_files_tie_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tie_line: str, elected: list[str]
) -> None:
    ballots = tmp_path / "ties.blt"
    ballots.write_text(TIE_BLT.format(tie=tie_line))
    # Without a [tie] line Meek falls back to the candidate order the file lists.
    extra = [] if tie_line else ["--rule-json", '{"tie_order": ["Apple", "Banana", "Cherry"]}']
    assert main(["count", str(ballots), "--method", "meek", "--json", *extra]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(result["winners"]) == elected
    assert all(not r["draws"] for r in result["rounds"])


def test_seats_out_of_range_counts_only_standing_candidates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ballots = tmp_path / "ward.blt"
    ballots.write_text(WARD_BLT)
    assert main(["count", str(ballots), "--method", "plurality", "--seats", "4"]) == 2
    assert "--seats: expected 1 to 3 (the standing candidates), got 4" in capsys.readouterr().err


def test_a_bad_blt_file_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ballots = tmp_path / "ward.blt"
    ballots.write_text(WARD_BLT.replace("\n1 3 0\n", "\n1 3 7 0\n"))
    assert main(["count", str(ballots), "--method", "schulze"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"konsilo count: {ballots}: line 5:")


def test_a_budget_counts_a_csv_of_approvals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ballots = tmp_path / "budget.csv"
    ballots.write_text("Park,Library,Bikes\n1,1,\n,1,\n1,,\n,,1\n1,,\n")
    rule = '{"budget": 100, "projects": {"Park": 40, "Library": 50, "Bikes": 30}}'
    args = ["count", str(ballots), "--method", "budget", "--rule", "greedy", "--rule-json", rule]
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr().out.encode()
    voters = [{"Park", "Library"}, {"Library"}, {"Park"}, {"Bikes"}, {"Park"}]
    expected = budget.greedy(voters, projects={"Park": 40, "Library": 50, "Bikes": 30}, budget=100)
    assert out == expected.to_json() + b"\n"


def test_dot_votes_take_their_budget_as_a_param(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ballots = tmp_path / "dots.csv"
    ballots.write_text("Ana,Bea\n2,1\n,3\n")
    assert main(["count", str(ballots), "--method", "dot_vote", "--param", "dots=3", "--json"]) == 0
    scored = read_scores(ballots.read_text())
    expected = cardinal.dot_vote(
        [dict(b) for b in scored.ballots],
        candidates=scored.candidates,
        dots=3,
        weights=scored.weights,
    )
    assert capsys.readouterr().out.encode() == expected.to_json() + b"\n"


def test_a_whole_process_counts_without_importing_django(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "from konsilo.cli.main import main\n"
        f"code = main(['count', {str(DEBIAN_TOC)!r}, '--method', 'schulze', '--json'])\n"
        "assert 'django' not in sys.modules, 'count imported Django'\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b'{"details":')


def test_the_installed_entry_point_counts_a_file() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "konsilo.cli", "count", str(DEBIAN_TOC), "--method", "plurality"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Bdale Garbee elected" in done.stdout


def _bad(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


BAD_SOI = (
    b"# DATA TYPE: soi\n# NUMBER ALTERNATIVES: 2\n"
    b"# ALTERNATIVE NAME 1: Ana\n# ALTERNATIVE NAME 2: Bea\n1: 1,2\n1: 2,3\n"
)


@pytest.mark.parametrize(
    ("name", "content", "extra", "message"),
    [
        (None, b"", ["--method", "schulze"], "no such file"),
        ("a.toc", None, ["--method", "borda"], "--method: unknown method 'borda'"),
        ("bad.soi", BAD_SOI, ["--method", "schulze"], "line 6: alternative 3 does not exist"),
        ("bad.csv", b"Ana,Bea\n1,2\n1,x\n", ["--method", "schulze"], "line 3, column Bea"),
        (
            "tie.csv",
            b"ranking\nAna = Bea\n",
            ["--method", "plurality"],
            "ranks Ana = Bea first equally",
        ),
        ("a.toc", None, ["--method", "plurality", "--seats", "5"], "--seats: expected 1 to 4"),
        ("a.toc", None, ["--method", "plurality", "--seats", "0"], "--seats: expected 1 to 4"),
        ("ballots.txt", b"x", ["--method", "schulze"], "cannot tell the format"),
        ("latin1.csv", b"ranking\nJos\xe9\n", ["--method", "schulze"], "line 2: not UTF-8 text"),
        ("a.toc", None, ["--method", "motion"], "--method: motion counts"),
        ("a.toc", None, ["--method", "schulze", "--param", "oops"], "--param: expected KEY=VALUE"),
        ("a.toc", None, ["--method", "schulze", "--rule-json", "[1"], "--rule-json: not a JSON"),
        ("a.toc", None, ["--method", "schulze", "--rule", "x"], "rule: not a rule key of schulze"),
        ("a.toc", None, ["--method", "budget", "--rule", "x"], "--rule: budget counts greedy"),
        ("a.toc", None, ["--method", "dot_vote"], "dots: dot_vote needs dots"),
        (
            "tie.blt",
            b'3 1\n2 1=3 2 0\n1 2 0\n0\n"Ana"\n"Bea"\n"Cem"\n"T"\n',
            ["--method", "irv"],
            "instant-runoff does not allow equal rankings, but a ballot ranks Ana = Cem",
        ),
        (
            "tie.blt",
            b'3 1\n2 1=3 2 0\n1 2 0\n0\n"Ana"\n"Bea"\n"Cem"\n"T"\n',
            ["--method", "stv", "--rule", "wigm"],
            "does not allow equal rankings",
        ),
        ("a.toc", None, ["--method", "irv", "--seats", "2"], "--seats: irv fills one seat"),
        ("a.toc", None, ["--method", "stv", "--seats", "2"], "rule: stv needs rule"),
        ("a.toc", None, ["--method", "meek"], "seats: meek needs seats"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str | None,
    content: bytes | None,
    extra: list[str],
    message: str,
) -> None:
    if name is None:
        path = str(tmp_path / "missing.blt")
    elif content is None:
        path = str(DEBIAN_TOC)
    else:
        path = _bad(tmp_path, name, content)
    assert main(["count", path, *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, captured.err
    assert err[0].startswith("konsilo count: ")
    assert message in err[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_a_one_gigabyte_file_is_refused_without_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.blt"
    with huge.open("wb") as f:
        f.truncate(1_000_000_000)  # sparse: costs no disk and no time
    assert main(["count", str(huge), "--method", "stv", "--seats", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "the file is 1.0 GB; the limit is" in err[0]


def test_bad_input_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    bad = _bad(tmp_path, "bad.soi", BAD_SOI)
    done = subprocess.run(
        [sys.executable, "-m", "konsilo.cli", "count", bad, "--method", "schulze"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"konsilo count: {bad}: line 6: alternative 3 does not exist (there are 2)"
    ]
