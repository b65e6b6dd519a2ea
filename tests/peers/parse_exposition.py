#!/usr/bin/env python3
"""Parses an exposition from stdin with the reference parser of prometheus_client and prints
its families as JSON; exits 1 with the parser's error on stderr when the input is invalid.

    parse_exposition.py --format text|openmetrics < body
"""
import argparse
import json
import math
import sys


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--format", choices=["text", "openmetrics"], required=True)
    ap.add_argument("--many", action="store_true", help="documents separated by a line '#=SPLIT=' (which no exposition line can forge: values escape their newlines); one OK or ERR line each")
    args = ap.parse_args()
    data = sys.stdin.buffer.read().decode("utf-8")
    if args.format == "text":
        from prometheus_client.parser import text_string_to_metric_families
    else:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    if args.many:
        for doc in data.split("\n#=SPLIT=\n"):
            if not doc:
                continue
            try:
                n = sum(len(f.samples) for f in text_string_to_metric_families(doc))
                print(f"OK {n}")
            except Exception as e:  # noqa: BLE001
                print(f"ERR {type(e).__name__}: {e}".replace("\n", " "))
        return
    try:
        families = [
            {
                "name": f.name,
                "type": f.type,
                "help": f.documentation,
                "unit": getattr(f, "unit", ""),
                "samples": [
                    {"name": s.name, "labels": dict(s.labels), "value": number(s.value)}
                    for s in f.samples
                ],
            }
            # The parsers are generators: errors surface only while reading them.
            for f in text_string_to_metric_families(data)
        ]
    except Exception as e:  # noqa: BLE001 - any parser error is a rejection
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
