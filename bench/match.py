"""Cross-matching quality and speed: generated lists with a known truth, casework against splink.

For each size N: the chamber's list and the Mission Locale's, N people each, 60 % on both
(`casework.intake.synthetic`, seed fixed: the differences between the two files at the rates
fixed there). Each engine runs in its own process (so that its peak memory is its own), on the
same lists, and the pairs it puts in the *match* band (probability ≥ 0.99, the configuration's
default, fixed before any of this was measured) are scored against the truth: precision,
recall, F1. The *to review* band (≥ 0.5) is counted apart: a person decides those.

splink (DuckDB backend; a benchmark-only dependency: `pip install -e '.[bench]'`) gets the same
normalised columns, comparisons of the same kinds (Jaro-Winkler on names with term-frequency
adjustments, birth date exact / one character / different, postcode exact / département),
its own blocking rules like ours, u by random sampling, m by EM in two sessions, the prior from
deterministic rules, and the same one-to-one assignment and bands on its predictions.

    .venv/bin/python bench/match.py                               # 5,000 and 100,000
    .venv/bin/python bench/match.py --sizes 5000,100000,1000000   # and a million (minutes)
    .venv/bin/python bench/match.py --sizes 2000 --no-splink      # casework alone
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import json
import platform
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from casework.intake.linkage import Band, Thresholds, link
from casework.intake.synthetic import Synthetic, generate
from casework.names import name_key

SEED = 2026
THRESHOLDS = Thresholds()  # the configuration's defaults: match 0.99, review 0.5


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    right = len(found & truth)
    precision = right / len(found) if found else 1.0
    recall = right / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def run_casework(data: Synthetic) -> dict[str, Any]:
    started = time.perf_counter()
    result = link(data.cma, data.ml, THRESHOLDS)
    seconds = time.perf_counter() - started
    match = {(p.cma, p.ml) for p in result.band(Band.MATCH)}
    review = {(p.cma, p.ml) for p in result.band(Band.REVIEW)}
    return {"seconds": seconds, "match": match, "review": review, "compared": result.candidates}


def run_splink(data: Synthetic) -> dict[str, Any]:
    import pandas as pd
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    def frame(people: list[Any]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "unique_id": [p.key for p in people],
                "surname": [name_key(p.birth_name) or None for p in people],
                "first_name": [
                    name_key(p.first_names.split()[0]) if p.first_names.split() else None
                    for p in people
                ],
                "dob": [p.birth_date.isoformat() if p.birth_date else None for p in people],
                "postcode": [p.postcode or None for p in people],
            }
        )

    started = time.perf_counter()
    db_api = DuckDBAPI()
    left = db_api.register(frame(data.cma), table_name="cma")
    right = db_api.register(frame(data.ml), table_name="ml")
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.LevenshteinLevel("dob", 1),
            cll.ElseLevel(),
        ],
    )
    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode"),
            cll.CustomLevel(
                "substr(postcode_l, 1, 2) = substr(postcode_r, 1, 2)", "same département"
            ),
            cll.ElseLevel(),
        ],
    )
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("surname", [0.92, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            dob,
            postcode,
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob", "substr(first_name, 1, 2)"),
            block_on("dob", "substr(surname, 1, 2)"),
            block_on("first_name", "surname"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker([left, right], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=SEED)
    # Two EM sessions, as casework's, on at most a million pairs each (casework samples its
    # same-day pairs too): blocked on the names, then on the birth date.
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "surname"), max_pairs=1e6
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("dob"), max_pairs=1e6
    )
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLDS.review)
    table = predictions.as_pandas_dataframe()
    # The same one-to-one assignment and bands as casework's.
    table = table.sort_values("match_weight", ascending=False)
    taken_l: set[str] = set()
    taken_r: set[str] = set()
    match, review = set(), set()
    for left_id, right_id, probability in zip(
        table["unique_id_l"], table["unique_id_r"], table["match_probability"], strict=True
    ):
        if left_id in taken_l or right_id in taken_r:
            continue
        taken_l.add(left_id)
        taken_r.add(right_id)
        (match if probability >= THRESHOLDS.match else review).add((left_id, right_id))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "match": match, "review": review, "compared": None}


def one(engine: str, size: int) -> None:
    """In a child process: generate, run one engine, print its figures as JSON."""
    data = generate(size, seed=SEED)
    truth = set(data.pairs.items())
    before = peak_rss_mb()
    result = run_casework(data) if engine == "casework" else run_splink(data)
    out = {
        "engine": engine,
        "size": size,
        "seconds": result["seconds"],
        "compared": result["compared"],
        "matched": len(result["match"]),
        "review": len(result["review"]),
        "review_true": len(result["review"] & truth),
        "truth": len(truth),
        "data_rss_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        **quality(result["match"], truth),
    }
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="5000,100000", help="people on each side, e.g. 5000,1000000"
    )
    parser.add_argument("--no-splink", action="store_true", help="casework alone")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]))
        return
    print(
        f"bench/match.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    engines = ["casework"] + ([] if args.no_splink else ["splink"])
    for size in (int(s) for s in args.sizes.split(",")):
        figures = {}
        for engine in engines:
            # In a folder of its own: DuckDB spills to ./.tmp when memory runs short.
            with tempfile.TemporaryDirectory(prefix="casework-match-") as folder:
                done = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--one", engine, str(size)],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=folder,
                )
            figures[engine] = json.loads(done.stdout.strip().splitlines()[-1])
            f = figures[engine]
            print(
                f"  {size:>9,} × {size:,}  {engine:<8}  {f['seconds']:7.1f} s  "
                f"precision {f['precision']:.4f}  recall {f['recall']:.4f}  F1 {f['f1']:.4f}  "
                f"matched {f['matched']:,} of {f['truth']:,}, to review {f['review']:,} "
                f"({f['review_true']:,} true)  peak RSS {f['peak_rss_mb']:,.0f} MB "
                f"(lists alone {f['data_rss_mb']:,.0f} MB)",
                flush=True,
            )
        if "splink" in figures:
            ratio = figures["casework"]["seconds"] / figures["splink"]["seconds"]
            print(f"  {'':>9}   time casework/splink: {ratio:.2f}")


if __name__ == "__main__":
    main()
