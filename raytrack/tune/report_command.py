"""``raytrack report SWEEP_DIR``: the leaderboard, best config and a visual report of a sweep.

Read-only by default: the sweep's files are read, never rewritten (a ``best.yaml`` the user
edited stays as it is). ``--write`` (alias ``--refresh``) rewrites ``trials.*``, ``history.*``,
``best.yaml`` and ``best.json`` from Ray Tune's state, as ``tune`` and ``resume`` do at the end.

The HTML page (:mod:`raytrack.tune.report_page`) goes to ``--html PATH``, by default to
``<sweep>/report/index.html``: a new folder of its own, so no existing file of the sweep
changes; ``--png`` also draws the plots as PNG files next to it (:mod:`raytrack.tune.report_png`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from raytrack.errors import UserError

REPORT_FOLDER = "report"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="leaderboard, best config and an HTML page of plots of a sweep (read-only)",
    )
    report.add_argument("sweep", help="sweep directory (printed when the sweep started)")
    report.add_argument("--top", type=int, default=10, help="rows of the leaderboard (default 10)")
    report.add_argument(
        "--write",
        "--refresh",
        action="store_true",
        help="rewrite trials.*, history.*, best.yaml and best.json from Ray Tune's state "
        "(default: change no file of the sweep)",
    )
    report.add_argument(
        "--html",
        metavar="PATH",
        help=f"where to write the HTML page (default: <sweep>/{REPORT_FOLDER}/index.html)",
    )
    report.add_argument(
        "--no-html", action="store_true", help="print the leaderboard only, write no page"
    )
    report.add_argument(
        "--png",
        action="store_true",
        help="also write the plots as PNG files (for papers) into the page's folder",
    )
    report.set_defaults(run=_report)


def _report(args: argparse.Namespace) -> int:
    from raytrack.tune.commands import print_summary
    from raytrack.tune.report_data import gather_report
    from raytrack.tune.results import write_summary
    from raytrack.tune.tuner import Sweep

    sweep_dir = Path(args.sweep)
    if not sweep_dir.is_dir() or not (sweep_dir / "sweep.json").is_file():
        raise UserError(f"{args.sweep} is not a sweep directory (no sweep.json)")
    if args.top < 1:
        raise UserError(f"--top must be at least 1, but got --top {args.top}")
    page = Path(args.html) if args.html else sweep_dir / REPORT_FOLDER / "index.html"
    if page.exists() and page.is_dir():
        raise UserError(f"--html {page} is a directory; give the path of an .html file")
    own_folder = page.parent.resolve() != sweep_dir.resolve()
    data = gather_report(sweep_dir, skip=page.parent if own_folder else None)
    if args.write:
        write_summary(data.summary, sweep_dir)
    code = print_summary(data.summary, Sweep.load(sweep_dir), args.top)
    if args.no_html:
        return code
    _write_page(data, page, args.png)
    return code


def _write_page(data, page: Path, png: bool) -> None:
    """Write the HTML page (and the PNGs) and say where they are."""
    from raytrack.tune.report_page import render_page
    from raytrack.tune.report_png import write_pngs

    try:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(render_page(data), encoding="utf-8")
    except OSError as err:
        raise UserError(
            f"cannot write the report page {page} ({err}); choose --html PATH"
        ) from None
    print(f"report page:     {page}")
    if png:
        written = write_pngs(data, page.parent)
        print(f"report PNGs:     {', '.join(str(p) for p in written) or 'none (nothing to draw)'}")
    db = data.path / "optuna.db"
    if db.is_file():
        print(f"optuna study:    optuna-dashboard sqlite:///{db.resolve()}")
