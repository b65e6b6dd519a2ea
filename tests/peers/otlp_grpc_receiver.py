#!/usr/bin/env python3
"""A gRPC OTLP metrics receiver built from the official OpenTelemetry protos.

Appends one JSON line per Export request (json_format.MessageToDict) to --out, flushed at
once, and prints `PORT <n>` on stdout when listening. --delay sleeps before answering,
--fail-code answers every request with that gRPC status (e.g. UNAVAILABLE), --gzip-replies
compresses every reply (as the OpenTelemetry Collector does to a gzip request).

    otlp_grpc_receiver.py --port 0 --out requests.jsonl [--delay 10] [--fail-code UNAVAILABLE]
"""
import argparse
import json
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc


class Receiver(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, out, delay, fail_code):
        self.out = out
        self.delay = delay
        self.fail_code = fail_code
        self.lock = threading.Lock()

    def Export(self, request, context):  # noqa: N802 - the generated name
        if self.delay:
            time.sleep(self.delay)
        if self.fail_code:
            context.abort(getattr(grpc.StatusCode, self.fail_code), "refused by the test receiver")
        record = json_format.MessageToDict(request)
        # Request headers (gRPC metadata), so tests can check they arrived.
        record["_metadata"] = {k: v for k, v in context.invocation_metadata()}
        line = json.dumps(record)
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()
        return metrics_service_pb2.ExportMetricsServiceResponse()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--fail-code", default="")
    ap.add_argument("--gzip-replies", action="store_true")
    ap.add_argument("--tls-cert", default="", help="PEM certificate: serve TLS")
    ap.add_argument("--tls-key", default="", help="PEM private key of --tls-cert")
    args = ap.parse_args()
    out = open(args.out, "a", encoding="utf-8")
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_receive_message_length", 256 * 1024 * 1024)],
        compression=grpc.Compression.Gzip if args.gzip_replies else None,
    )
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Receiver(out, args.delay, args.fail_code), server)
    if args.tls_cert:
        with open(args.tls_key, "rb") as k, open(args.tls_cert, "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port(f"127.0.0.1:{args.port}", creds)
    else:
        port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"PORT {port}", flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
