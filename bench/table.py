#!/usr/bin/env python3
"""Joins per-builder hyperfine JSON exports into one markdown table.

    table.py decant=decant.json docker=docker.json ...

The first builder is the reference of the last column. A builder whose
JSON is missing (its build failed) gets a row saying so.
"""
import json
import sys


def seconds(value):
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.3f} s"


def main(args):
    rows = []
    for arg in args:
        name, _, path = arg.partition("=")
        try:
            with open(path) as f:
                result = json.load(f)["results"][0]
        except (OSError, ValueError, KeyError, IndexError):
            rows.append((name, None))
            continue
        rows.append((name, result))
    print("| builder | mean ± σ | min | max | runs | mean / first builder's |")
    print("|:---|---:|---:|---:|---:|---:|")
    reference = rows[0][1]["mean"] if rows and rows[0][1] else None
    for name, result in rows:
        if result is None:
            print(f"| {name} | failed | | | | |")
            continue
        ratio = f"{result['mean'] / reference:.2f}" if reference else "–"
        stddev = result.get("stddev") or 0.0
        print(
            f"| {name} | {seconds(result['mean'])} ± {seconds(stddev)} | "
            f"{seconds(result['min'])} | {seconds(result['max'])} | "
            f"{len(result['times'])} | {ratio} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
