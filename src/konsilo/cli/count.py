"""``konsilo count FILE``: count a ballot file and print the rounds a person can follow.

    konsilo count ward.blt --method stv --rule scottish --seats 3
    konsilo count debian.toc --method schulze --json
    konsilo count budget.csv --method budget --rule equal_shares \\
        --rule-json '{"budget": 100, "projects": {"Park": 40, "Library": 50}}'

The format comes from the extension (``.blt``, ``.soi``, ``.soc``, ``.toc``, ``.toi``,
``.csv``) unless ``--format`` says it; the number of seats defaults to the BLT header's. The
table has one row per candidate and one column per round (in blocks of rounds when they do
not fit in 100 characters): the candidate's exact vote in that round, ``*`` when elected in
it, ``-`` when excluded; then the quota or threshold, the exhausted weight, and every
round's explanation. ``--json`` prints the canonical result instead (``Result.to_json()``,
then a newline).

Nothing here imports Django: the command starts in the time numpy takes to import. Bad input
(no such file, a file above the size limit, an unknown method, a malformed file, equal
rankings under a strict rule, seats out of range) raises ``UsageError``: one line on stderr
and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from konsilo.cli.main import UsageError

MAX_BYTES = 512 * 1024 * 1024
"""The largest file ``konsilo count`` reads (a million 30-candidate BLT ballots: ~90 MB)."""

FORMATS = ("blt", "soc", "soi", "toc", "toi", "csv")
_TABLE_WIDTH = 100
_QUOTA_METHODS = {"irv", "stv", "scottish_stv", "wigm", "meek", "constrained_stv"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the ballot file (BLT, PrefLib .soi/.toc/.soc/.toi, CSV)")
    parser.add_argument(
        "--method",
        required=True,
        help="irv, stv, meek, constrained_stv, schulze, plurality, approval, score, dot_vote, "
        "budget (greedy or equal_shares)",
    )
    parser.add_argument(
        "--rule", help="the rule set: scottish or wigm for stv; greedy or equal_shares for budget"
    )
    parser.add_argument("--seats", type=int, help="seats to fill (default: the BLT header's)")
    parser.add_argument("--seed", help="the published seed for drawing lots")
    parser.add_argument("--format", choices=FORMATS, help="the file format (default: extension)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another rule key, e.g. dots=5, max_score=5, status_quo=Ana (repeatable)",
    )
    parser.add_argument(
        "--rule-json", metavar="JSON", help='rule keys as a JSON object, e.g. {"budget": 100}'
    )
    parser.add_argument("--json", action="store_true", help="print the canonical result JSON")


def _mb(size: int) -> str:
    return f"{size / 1_000_000_000:.1f} GB" if size >= 1_000_000_000 else f"{size / 1e6:.0f} MB"


def _read(path: Path) -> str:
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if not path.is_file():
        raise UsageError(f"{path}: not a file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise UsageError(f"{path}: the file is {_mb(size)}; the limit is {_mb(MAX_BYTES)}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"{path}: line {line}: not UTF-8 text") from None


def _format(path: Path, given: str | None) -> str:
    if given:
        return given
    ext = path.suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise UsageError(
            f"{path}: cannot tell the format from the extension {path.suffix or '(none)'!r}; "
            f"use --format {'|'.join(FORMATS)}"
        )
    return ext


def _rule(args: argparse.Namespace) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if args.rule_json:
        from konsilo import canonical

        try:
            data = canonical.loads(args.rule_json)
        except (ValueError, json.JSONDecodeError) as exc:
            raise UsageError(f"--rule-json: not a JSON object ({exc})") from None
        if not isinstance(data, dict):
            raise UsageError("--rule-json: expected a JSON object of rule keys")
        rule.update(data)
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param: expected KEY=VALUE, got {item!r}")
        rule[key.strip()] = value.strip()
    return rule


def _method(args: argparse.Namespace, rule: dict[str, Any]) -> str:
    method = args.method.strip().lower().replace("-", "_")
    if method == "budget":
        choice = args.rule or "equal_shares"
        if choice not in ("greedy", "equal_shares"):
            raise UsageError(f"--rule: budget counts greedy or equal_shares, got {choice!r}")
        return choice
    if args.rule is not None:
        rule["rule"] = args.rule
    return method


def _ballots(
    fmt: str, text: str, kind: str, method: str, path: Path
) -> tuple[Any, int | None, tuple[str, ...]]:
    """The ballots in the form the method counts, the seats and the tie order the file gives."""
    try:
        if fmt == "blt":
            from konsilo.counting import blt

            election = blt.read_blt(text)
            return election.profile, election.seats, election.tie_order
        if fmt == "csv":
            from konsilo.counting import ballot_csv

            if kind == "options" and method != "plurality":
                return ballot_csv.read_scores(text), None, ()
            return ballot_csv.read_rankings(text), None, ()
        from konsilo.counting import preflib

        return preflib.read_preflib(text, data_type=fmt).profile, None, ()
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _standing(ballots: Any) -> int | None:
    candidates = getattr(ballots, "candidates", None)
    if candidates is None:
        return None
    withdrawn = getattr(ballots, "withdrawn", frozenset())
    return sum(1 for c in candidates if c not in withdrawn)


def run(args: argparse.Namespace) -> int:
    from konsilo.counting import methods

    path = Path(args.file)
    fmt = _format(path, args.format)
    rule = _rule(args)
    name = _method(args, rule)
    try:
        spec = methods.get_method(name)
    except methods.MethodError as exc:
        raise UsageError(f"--method: {str(exc).removeprefix('method: ')}") from None
    if spec.kind not in ("ranked", "options"):
        raise UsageError(f"--method: {spec.name} counts {spec.summary}, not a ballot file")
    text = _read(path)
    ballots, file_seats, tie_order = _ballots(fmt, text, spec.kind, spec.name, path)
    if tie_order and "tie_order" in spec.params:
        # A BLT file's [tie ...] line is the order its election settles ties by (Meek).
        rule.setdefault("tie_order", list(tie_order))
    if "seats" in spec.params:
        seats = args.seats if args.seats is not None else rule.pop("seats", file_seats)
        if seats is not None:
            standing = _standing(ballots)
            seats = int(seats)
            if standing is not None and not 1 <= seats <= standing:
                raise UsageError(
                    f"--seats: expected 1 to {standing} (the standing candidates), got {seats}"
                )
            rule["seats"] = seats
    elif args.seats is not None and args.seats != 1:
        raise UsageError(f"--seats: {spec.name} fills one seat, got {args.seats}")
    if args.seed is not None:
        rule["seed"] = args.seed
    try:
        result = methods.count_by_name(spec.name, ballots, **rule)
    except methods.MethodError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        sys.stdout.buffer.write(result.to_json() + b"\n")
        sys.stdout.flush()
        return 0
    sys.stdout.write(render(result))
    return 0


# -- the table ------------------------------------------------------------------------------


def number(value: Fraction) -> str:
    """An exact number for people: whole, exact decimal up to 9 places, else 5 places and ``…``.

    >>> number(Fraction(1234)), number(Fraction(98765, 10000)), number(Fraction(1, 3))
    ('1,234', '9.8765', '0.33333…')
    """
    if value.denominator == 1:
        return f"{value.numerator:,}"
    for places in range(1, 10):
        scaled = value * 10**places
        if scaled.denominator == 1:
            return _decimal(int(scaled), places)
    truncated = value.numerator * 10**5 // value.denominator
    return _decimal(truncated, 5) + "…"


def _decimal(scaled: int, places: int) -> str:
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**places)
    return f"{sign}{whole:,}.{frac:0{places}d}"


def render(result: Any) -> str:
    """The round-by-round table, then the explanations, as ``konsilo count`` prints them."""
    rounds = result.rounds
    names: list[str] = []
    for r in rounds:
        names.extend(n for n in r.tallies if n not in names)
        names.extend(n for n in (*r.elected, *r.excluded) if n not in names)
    cells: dict[str, list[str]] = {n: [] for n in names}
    quota = "quota" if result.method in _QUOTA_METHODS else "threshold"
    extra_rows: dict[str, list[str]] = {quota: [], "exhausted": []}
    for r in rounds:
        for n in names:
            text = number(r.tallies[n]) if n in r.tallies else ""
            if n in r.elected:
                text += " *"
            elif n in r.excluded:
                text += " -"
            cells[n].append(text)
        extra_rows[quota].append(number(r.threshold) if r.threshold is not None else "")
        extra_rows["exhausted"].append(number(r.exhausted) if r.exhausted else "")
    rows = {n: cells[n] for n in names}
    rows.update({k: v for k, v in extra_rows.items() if any(v)})
    label_width = max([len("round"), *map(len, rows)])
    widths = [
        max(len(str(i + 1)), *(len(row[i]) for row in rows.values())) for i in range(len(rounds))
    ]
    lines: list[str] = []
    words = "; ".join(f"{k} {v}" for k, v in _rule_words(result.rule))
    lines.append(f"{result.method} ({words})" if words else result.method)
    start = 0
    while start < len(rounds):
        used = label_width
        end = start
        while end < len(rounds) and (end == start or used + 2 + widths[end] <= _TABLE_WIDTH):
            used += 2 + widths[end]
            end += 1
        lines.append("")
        header = "round".ljust(label_width) + "".join(
            "  " + str(rounds[i].number).rjust(widths[i]) for i in range(start, end)
        )
        lines.append(header)
        lines.append("-" * len(header))
        for label, row in rows.items():
            lines.append(
                label.ljust(label_width)
                + "".join("  " + row[i].rjust(widths[i]) for i in range(start, end))
            )
        start = end
    lines.append("")
    lines.append("* elected   - excluded")
    lines.append("")
    explanations = [r.explanation for r in rounds]
    if not explanations or explanations[-1] != result.summary:
        explanations.append(result.summary)
    lines.extend(explanations)
    if result.draws:
        lines.append(
            f"Lots drawn from seed {result.seed!r}: "
            + "; ".join(f"{d.chosen} among {', '.join(d.among)} ({d.reason})" for d in result.draws)
        )
    return "\n".join(lines) + "\n"


def _rule_words(rule: Any) -> list[tuple[str, str]]:
    words = []
    for key, value in rule.items():
        if key == "method" or isinstance(value, dict | list) or value is None:
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, Fraction):
            text = number(value)
        else:
            text = str(value)
        words.append((key.replace("_", " "), text))
    return words
