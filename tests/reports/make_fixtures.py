#!/usr/bin/env python3
"""Write the DIFF.json fixtures of the report tests (fixtures/reports/) and
the seeds of the future report fuzz target (tests/fuzz/corpus/report/).

The files are committed; this script says how they were made and makes them
again (deterministic: no clock, no randomness).  They follow
docs/diff-format.md (rehearse-diff version 1) and docs/report-format.md (the
context), and model the demo shop of fixtures/demo/README.md: a release with
the four planted regressions R1-R4 and the noise of request ids and creation
times.

    tests/reports/make_fixtures.py        # from the repository root
"""
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "fixtures", "reports")
FUZZ = os.path.join(ROOT, "tests", "fuzz", "corpus", "report")

CT = ["Content-Type", "application/json"]


def body(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def resp(status, obj, extra_headers=(), truncated=False):
    headers = [CT] + [list(h) for h in extra_headers]
    return {"status": status, "headers": headers, "body": body(obj),
            "body_encoding": "json", "truncated": truncated}


def bucket(v):
    """The loglin32 bucket of a value (common/histogram.h)."""
    if v < 64:
        return v
    e = v.bit_length() - 1
    if e >= 40:
        return 64 + 34 * 32
    return 64 + (e - 6) * 32 + ((v >> (e - 5)) & 31)


def hist(center, spread, total):
    """Sparse loglin32 buckets around a latency, deterministic; `spread` in
    eighths of a power of two (four loglin32 buckets each)."""
    b0 = bucket(center)
    spread *= 4
    weights = [math.exp(-((i / spread) ** 2)) for i in range(-3 * spread, 3 * spread + 1)]
    tail = [0.005 * math.exp(-i / 24) for i in range(1, 76)]
    weights += tail
    s = sum(weights)
    counts, left = [], total
    for i, w in enumerate(weights):
        n = int(round(total * w / s)) if i < len(weights) - 1 else left
        n = min(n, left)
        left -= n
        if n:
            counts.append([b0 - 3 * spread + i, n])
    return {"scheme": "loglin32", "counts": counts}


def lat(p50, p95, p99, p90=None, mx=None):
    d = {"p50": p50}
    if p90 is not None:
        d["p90"] = p90
    d["p95"] = p95
    d["p99"] = p99
    if mx is not None:
        d["max"] = mx
    return d


def user(uid, name, created="2024-01-02T10:37:13.000000Z"):
    local = name.lower().replace(" ", ".")
    return {"id": uid, "name": name, "email": local + "@example.com", "created_at": created}


def order(oid, uid, amount, status="paid", created="2024-02-01T15:35:59.000000Z"):
    return {"id": oid, "user_id": uid, "amount": amount, "status": status,
            "created_at": created}


def field(path, kind, raw, noise, remaining, compared, regression, risk, examples, header=None):
    f = {}
    if header:
        f["header"] = header
    else:
        f["path"] = path
    f.update({"kind": kind, "raw": raw, "noise": noise, "remaining": remaining,
              "raw_rate": raw / compared, "noise_rate": noise / compared,
              "remaining_rate": remaining / compared, "regression": regression,
              "risk": risk, "examples": examples})
    return f


def endpoint(name, requests, compared, mismatches, changes, body3, headers3, errors, latency,
             risk, regression, fields, examples):
    method, template = name.split(" ", 1)
    return {"endpoint": name, "method": method, "template": template,
            "requests": requests, "compared": compared,
            "status": {"mismatches": mismatches, "changes": changes},
            "body": dict(zip(("raw", "noise", "remaining"), body3)),
            "headers": dict(zip(("raw", "noise", "remaining"), headers3)),
            "errors": errors, "latency_us": latency, "risk": risk, "regression": regression,
            "fields": fields, "examples": examples}


def noise_meta(rid, at):
    return {"request_id": rid, "served_at": at}


def demo():
    """The demo shop: v1 (old, old2) against v2 (new)."""
    ex_orders_list = []
    base_orders = [order(1804, 12, 55.49, "shipped", "2024-03-30T09:12:44.000000Z"),
                   order(1689, 12, 12.0, "paid", "2024-03-21T17:02:10.000000Z"),
                   order(977, 12, 230.1, "cancelled", "2024-02-27T08:40:00.000000Z")]
    cand_orders = [dict(o, amount=str(o["amount"]) if o["amount"] != 12.0 else "12.00")
                   for o in reversed([order(41, 12, 19.99, "paid", "2024-01-03T11:00:00.000000Z"),
                                      order(156, 12, 7.5, "shipped", "2024-01-09T14:20:31.000000Z"),
                                      order(977, 12, 230.1, "cancelled", "2024-02-27T08:40:00.000000Z")])]
    cand_orders = list(reversed(cand_orders))
    b = {"user_id": 12, "orders": base_orders}
    c = {"user_id": 12, "orders": cand_orders}
    ex_orders_list.append({
        "tx": 88, "conn": 4, "method": "GET", "target": "/users/12/orders?limit=3",
        "kinds": ["body"],
        "paths": ["/orders/0/amount", "/orders/0/created_at", "/orders/0/id", "/orders/0/status",
                  "/orders/1/amount", "/orders/1/created_at", "/orders/1/id", "/orders/1/status",
                  "/orders/2/amount"],
        "patch": [
            {"op": "replace", "path": "/orders/0/id", "value": 41},
            {"op": "replace", "path": "/orders/0/amount", "value": "19.99"},
            {"op": "replace", "path": "/orders/0/status", "value": "paid"},
            {"op": "replace", "path": "/orders/0/created_at", "value": "2024-01-03T11:00:00.000000Z"},
            {"op": "replace", "path": "/orders/1/id", "value": 156},
            {"op": "replace", "path": "/orders/1/amount", "value": "7.5"},
            {"op": "replace", "path": "/orders/1/status", "value": "shipped"},
            {"op": "replace", "path": "/orders/1/created_at", "value": "2024-01-09T14:20:31.000000Z"},
            {"op": "replace", "path": "/orders/2/amount", "value": "230.1"}],
        "noise_paths": [],
        "base": resp(200, b), "candidate": resp(200, c), "noise": resp(200, b),
        "captured": resp(200, b)})
    b2 = {"user_id": 40, "orders": [order(1990, 40, 99999999.99, "pending")]}
    c2 = {"user_id": 40, "orders": [dict(order(1990, 40, 0, "pending"), amount="99999999.99")]}
    ex_orders_list.append({
        "tx": 131, "conn": 7, "method": "GET", "target": "/users/40/orders",
        "kinds": ["body"], "paths": ["/orders/0/amount"],
        "patch": [{"op": "replace", "path": "/orders/0/amount", "value": "99999999.99"}],
        "noise_paths": [],
        "base": resp(200, b2), "candidate": resp(200, c2), "noise": resp(200, b2)})

    ex_post_orders = [{
        "tx": 240 + i, "conn": 1, "method": "POST", "target": "/orders",
        "kinds": ["status", "body"], "paths": ["/order/amount", "/order/created_at"],
        "patch": [{"op": "replace", "path": "/order/amount", "value": amt}],
        "noise_paths": ["/order/created_at"],
        "base": resp(201, {"order": order(2001 + i, 12 + i, float(amt), "pending",
                                          "2026-05-01T12:00:0%d.120000Z" % i)},
                     [("Location", "/orders/%d" % (2001 + i))]),
        "candidate": resp(200, {"order": dict(order(2001 + i, 12 + i, 0, "pending",
                                                    "2026-05-01T12:00:0%d.480000Z" % i),
                                              amount=amt)},
                          [("Location", "/orders/%d" % (2001 + i))]),
        "noise": resp(201, {"order": order(2001 + i, 12 + i, float(amt), "pending",
                                           "2026-05-01T12:00:0%d.310000Z" % i)},
                      [("Location", "/orders/%d" % (2001 + i))])}
        for i, amt in enumerate(["55.49", "12.5"])]

    ex_get_order = [{
        "tx": 301, "conn": 5, "method": "GET", "target": "/orders/1804",
        "kinds": ["body"], "paths": ["/order/amount"],
        "patch": [{"op": "replace", "path": "/order/amount", "value": "55.49"}],
        "noise_paths": [],
        "base": resp(200, {"order": order(1804, 12, 55.49, "shipped")}),
        "candidate": resp(200, {"order": dict(order(1804, 12, 0, "shipped"), amount="55.49")}),
        "noise": resp(200, {"order": order(1804, 12, 55.49, "shipped")})}]

    created = "2026-05-01T12:00:01.%06dZ"
    ex_get_user = [{
        "tx": 17, "conn": 3, "method": "GET", "target": "/users/301",
        "kinds": ["body"], "paths": ["/user/created_at", "/user/name"],
        "patch": [{"op": "replace", "path": "/user/name", "value": "Mary Ann"},
                  {"op": "replace", "path": "/user/created_at",
                   "value": created % 482113}],
        "noise_paths": ["/user/created_at"],
        "base": resp(200, {"user": user(301, "Mary Ann van der Berg", created % 120551)}),
        "candidate": resp(200, {"user": user(301, "Mary Ann", created % 482113)}),
        "noise": resp(200, {"user": user(301, "Mary Ann van der Berg", created % 233904)}),
        "captured": resp(200, {"user": user(301, "Mary Ann van der Berg",
                                            "2026-04-28T08:15:02.000000Z")})}]
    ex_patch_user = [{
        "tx": 52, "conn": 2, "method": "PATCH", "target": "/users/44",
        "kinds": ["body"], "paths": ["/user/name"],
        "patch": [{"op": "replace", "path": "/user/name", "value": "Jean Claude"}],
        "noise_paths": [],
        "base": resp(200, {"user": user(44, "Jean Claude van Damme")}),
        "candidate": resp(200, {"user": user(44, "Jean Claude")}),
        "noise": resp(200, {"user": user(44, "Jean Claude van Damme")})}]
    ex_post_user = [{
        "tx": 9, "conn": 1, "method": "POST", "target": "/users",
        "kinds": ["body"], "paths": ["/user/created_at", "/user/name"],
        "patch": [{"op": "replace", "path": "/user/name", "value": "Anna Maria"},
                  {"op": "replace", "path": "/user/created_at", "value": created % 900002}],
        "noise_paths": ["/user/created_at"],
        "base": resp(201, {"user": user(303, "Anna Maria de la Cruz", created % 1)},
                     [("Location", "/users/303")]),
        "candidate": resp(201, {"user": user(303, "Anna Maria", created % 900002)},
                          [("Location", "/users/303")]),
        "noise": resp(201, {"user": user(303, "Anna Maria de la Cruz", created % 455000)},
                      [("Location", "/users/303")])}]
    ex_get_users = [{
        "tx": 3, "conn": 1, "method": "GET", "target": "/users?limit=2&after=300",
        "kinds": ["body"], "paths": ["/users/0/created_at"],
        "patch": [{"op": "replace", "path": "/users/0/created_at", "value": created % 900002}],
        "noise_paths": ["/users/0/created_at"],
        "base": resp(200, {"users": [user(303, "Anna Maria de la Cruz", created % 1)],
                           "next_after": None}),
        "candidate": resp(200, {"users": [user(303, "Anna Maria de la Cruz", created % 900002)],
                                "next_after": None}),
        "noise": resp(200, {"users": [user(303, "Anna Maria de la Cruz", created % 455000)],
                            "next_after": None})}]

    reg = "remaining %s > absolute 0.03%% and relative %s > 0.2"
    endpoints = [
        endpoint("GET /orders/{id}", 49, 49, 0, [], (49, 0, 49), (0, 0, 0),
                 {"old": {}, "new": {}, "old2": {}},
                 {"old": lat(610, 1500, 2100), "new": lat(640, 1600, 2300),
                  "old2": lat(600, 1450, 2000)},
                 "high", True,
                 [field("/order/amount", "type_changed", 49, 0, 49, 49, True, "high", [301])],
                 ex_get_order),
        endpoint("GET /users/{id}/orders", 66, 66, 0, [], (66, 0, 66), (0, 0, 0),
                 {"old": {}, "new": {}, "old2": {}},
                 {"old": lat(1900, 4200, 6100), "new": lat(2050, 4700, 7400),
                  "old2": lat(1850, 4100, 5900)},
                 "high", True,
                 [field("/orders/*/amount", "type_changed", 66, 0, 66, 66, True, "high", [88, 131]),
                  field("/orders/*/created_at", "changed", 60, 0, 60, 66, True, "medium", [88]),
                  field("/orders/*/id", "changed", 60, 0, 60, 66, True, "medium", [88]),
                  field("/orders/*/status", "changed", 41, 0, 41, 66, True, "medium", [88])],
                 ex_orders_list),
        endpoint("POST /orders", 33, 33, 33, [{"base": 201, "candidate": 200, "count": 33}],
                 (33, 33, 33), (0, 0, 0), {"old": {}, "new": {}, "old2": {}},
                 {"old": lat(2300, 5200, 7000), "new": lat(2400, 5500, 7900),
                  "old2": lat(2250, 5000, 6800)},
                 "high", True,
                 [field("/order/amount", "type_changed", 33, 0, 33, 33, True, "high", [240, 241]),
                  field("/order/created_at", "changed", 33, 33, 0, 33, False, "medium", [240])],
                 ex_post_orders),
        endpoint("GET /users/{id}", 209, 208, 0, [], (30, 7, 23), (0, 0, 0),
                 {"old": {}, "new": {"timeout": 1}, "old2": {}},
                 {"old": lat(820, 1900, 2500), "new": lat(850, 2100, 2600),
                  "old2": lat(800, 1850, 2450)},
                 "medium", True,
                 [field("/user/name", "changed", 23, 0, 23, 208, True, "medium", [17]),
                  field("/user/created_at", "changed", 7, 7, 0, 208, False, "medium", [17])],
                 ex_get_user),
        endpoint("PATCH /users/{id}", 62, 62, 0, [], (20, 6, 14), (0, 0, 0),
                 {"old": {}, "new": {}, "old2": {}},
                 {"old": lat(2900, 6100, 8800), "new": lat(3000, 6400, 9100),
                  "old2": lat(2850, 6000, 8700)},
                 "medium", True,
                 [field("/user/name", "changed", 14, 0, 14, 62, True, "medium", [52]),
                  field("/user/created_at", "changed", 6, 6, 0, 62, False, "medium", [])],
                 ex_patch_user),
        endpoint("POST /users", 27, 27, 0, [], (27, 27, 5), (0, 0, 0),
                 {"old": {}, "new": {}, "old2": {}},
                 {"old": lat(3100, 6800, 9500), "new": lat(3150, 7000, 9900),
                  "old2": lat(3050, 6700, 9400)},
                 "medium", True,
                 [field("/user/name", "changed", 5, 0, 5, 27, True, "medium", [9]),
                  field("/user/created_at", "changed", 27, 27, 0, 27, False, "medium", [9])],
                 ex_post_user),
        endpoint("GET /users", 40, 40, 0, [], (2, 2, 0), (0, 0, 0),
                 {"old": {}, "new": {}, "old2": {}},
                 {"old": lat(1500, 3300, 4400), "new": lat(1550, 3400, 4500),
                  "old2": lat(1480, 3250, 4300)},
                 "none", False,
                 [field("/users/*/created_at", "changed", 2, 2, 0, 40, False, "medium", [3])],
                 ex_get_users),
        endpoint("GET /stats", 14, 14, 0, [], (0, 0, 0), (0, 0, 0),
                 {"old": {}, "new": {}, "old2": {}},
                 {"old": lat(4100, 5200, 5600), "new": lat(4150, 5300, 5800),
                  "old2": lat(4050, 5100, 5500)},
                 "none", False, [], []),
        endpoint("GET /users/me", 2, 2, 0, [], (0, 0, 0), (0, 0, 0),
                 {"old": {}, "new": {}, "old2": {}},
                 {"old": lat(300, 340, 350), "new": lat(310, 350, 360),
                  "old2": lat(295, 330, 345)},
                 "none", False, [], []),
    ]
    reasons = [
        {"kind": "field", "endpoint": "GET /orders/{id}", "path": "/order/amount",
         "rule": reg % ("100%", "1"), "risk": "high"},
        {"kind": "field", "endpoint": "GET /users/{id}/orders", "path": "/orders/*/amount",
         "rule": reg % ("100%", "1"), "risk": "high"},
        {"kind": "field", "endpoint": "POST /orders", "path": "/order/amount",
         "rule": reg % ("100%", "1"), "risk": "high"},
        {"kind": "error_rate", "endpoint": None, "path": None,
         "rule": "candidate error rate 0.2% - base 0% = 0.2% > error_rate 0", "risk": "high"},
        {"kind": "field", "endpoint": "GET /users/{id}", "path": "/user/name",
         "rule": reg % ("11.1%", "1"), "risk": "medium"},
        {"kind": "field", "endpoint": "GET /users/{id}/orders", "path": "/orders/*/created_at",
         "rule": reg % ("90.9%", "1"), "risk": "medium"},
        {"kind": "field", "endpoint": "GET /users/{id}/orders", "path": "/orders/*/id",
         "rule": reg % ("90.9%", "1"), "risk": "medium"},
        {"kind": "field", "endpoint": "GET /users/{id}/orders", "path": "/orders/*/status",
         "rule": reg % ("62.1%", "1"), "risk": "medium"},
        {"kind": "field", "endpoint": "PATCH /users/{id}", "path": "/user/name",
         "rule": reg % ("22.6%", "1"), "risk": "medium"},
        {"kind": "field", "endpoint": "POST /users", "path": "/user/name",
         "rule": reg % ("18.5%", "1"), "risk": "medium"},
        {"kind": "status", "endpoint": "POST /orders", "path": None,
         "rule": "status mismatches 100% > status 0 (201 -> 200: 33)", "risk": "medium"},
    ]
    targets = {
        "old": {"requests": 502, "errors": {}, "status_classes": {"2xx": 484, "4xx": 18},
                "latency_us": lat(1100, 5600, 8200, p90=4300, mx=14100),
                "histogram": hist(1100, 6, 502)},
        "new": {"requests": 502, "errors": {"timeout": 1},
                "status_classes": {"2xx": 483, "4xx": 18},
                "latency_us": lat(1180, 5900, 9300, p90=4600, mx=30000100),
                "histogram": hist(1180, 7, 501)},
        "old2": {"requests": 502, "errors": {}, "status_classes": {"2xx": 484, "4xx": 18},
                 "latency_us": lat(1080, 5500, 8000, p90=4250, mx=13900),
                 "histogram": hist(1080, 6, 502)},
    }
    rules = [
        {"id": "ignore#1", "where": "fixtures/demo/rules.json:3:5", "kind": "ignore",
         "pattern": "/request_id", "endpoint": "*", "hits": 501},
        {"id": "ignore#2", "where": "fixtures/demo/rules.json:4:5", "kind": "ignore",
         "pattern": "/served_at", "endpoint": "*", "hits": 501},
        {"id": "ignore_header#1", "where": "fixtures/demo/rules.json:6:5",
         "kind": "ignore_header", "pattern": "X-Request-Id", "endpoint": "*", "hits": 501},
        {"id": "array_key#1", "where": "fixtures/demo/rules.json:8:5", "kind": "array_key",
         "pattern": "/items", "endpoint": "GET /users", "hits": 0},
        {"id": "builtin:date", "where": "built-in", "kind": "ignore_header", "pattern": "Date",
         "endpoint": "*", "hits": 1503},
    ]
    return {
        "format": "rehearse-diff", "version": 1, "created_by": "rehearse 0.1.0",
        "created_us": 1777636800000000,
        "inputs": {
            "results": [{"path": "runs/demo/results.jsonl",
                         "sha256": "4d1f0c6a1b0f3f8e2b7c9a1d5e3f7a9b0c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f",
                         "trace": "runs/demo/trace.jsonl", "transactions": 502}],
            "base": "old", "candidate": "new", "noise": "old2",
            "targets": [{"name": "old", "url": "http://127.0.0.1:40123"},
                        {"name": "new", "url": "http://127.0.0.1:40124"},
                        {"name": "old2", "url": "http://127.0.0.1:40125"}],
            "rules": {"path": "fixtures/demo/rules.json",
                      "sha256": "9e107d9d372bb6826bd81d3542a419d6e3f2b1c0a9d8e7f6a5b4c3d2e1f0a9b8"},
            "reproduce": ["rehearse", "diff", "runs/demo/results.jsonl", "--base", "old",
                          "--candidate", "new", "--noise", "old2", "--rules",
                          "fixtures/demo/rules.json", "-o", "runs/demo/diff.json"]},
        "thresholds": {"relative": 0.2, "absolute": 0.0003, "status": 0, "error_rate": 0,
                       "latency_p99_ratio": None},
        "verdict": {"result": "regressions", "exit_code": 1,
                    "summary": "11 regressions in 6 endpoints (GET /orders/{id}: /order/amount "
                               "type; GET /users/{id}/orders: /orders/*/amount type, order; "
                               "POST /orders: status, /order/amount type; GET /users/{id}, "
                               "PATCH /users/{id}, POST /users: /user/name) and the candidate's "
                               "error rate",
                    "reasons": reasons},
        "totals": {"transactions": 502, "compared": 501, "skipped": {"candidate_error": 1},
                   "identical": 276, "different_raw": 225, "different_after_noise": 190,
                   "status_mismatches": 33, "noise_compared": 501},
        "targets": targets,
        "endpoints": endpoints,
        "rules": rules,
        "redaction": {"headers": ["Authorization", "Cookie", "Set-Cookie"],
                      "json_paths": ["/**/password"], "values_redacted": 126},
        "caps": {"endpoints": 1000, "fields_per_endpoint": 200, "examples_per_endpoint": 5,
                 "examples_per_field": 3, "example_body_bytes": 65536,
                 "hit": {"endpoints": 0, "fields_per_endpoint": 0, "examples_per_endpoint": 12}},
    }


def demo_context():
    return {
        "format": "rehearse-report-context", "version": 1,
        "run": {"scenario": "demo-shop-v2", "status": "failed",
                "started_at": "2026-05-01T12:00:00.000000Z", "duration_ms": 41250.5,
                "journal": "runs/demo-shop-v2-20260501-120000/journal.json"},
        "timeline": {
            "duration_ms": 41250.5,
            "steps": [
                {"name": "start-old", "kind": "start", "status": "ok", "start_ms": 120.0,
                 "end_ms": 612.4},
                {"name": "expand", "kind": "sql", "status": "ok", "start_ms": 640.2,
                 "end_ms": 2310.8, "message": "4 statements, lock waits 120 ms"},
                {"name": "start-new", "kind": "start", "status": "ok", "start_ms": 2320.0,
                 "end_ms": 2801.3},
                {"name": "replay", "kind": "replay", "status": "ok", "start_ms": 2810.0,
                 "end_ms": 33120.9},
                {"name": "budgets", "kind": "assert", "status": "failed", "start_ms": 33121.0,
                 "end_ms": 33121.4, "message": "1 of 3 checks failed"},
                {"name": "contract", "kind": "sql", "status": "skipped", "start_ms": 33125.0,
                 "end_ms": None},
                {"name": "stop-all", "kind": "stop", "status": "ok", "start_ms": 40100.0,
                 "end_ms": 41200.2}],
            "faults": [
                {"name": "db-latency", "kind": "latency", "target": "new -> postgres",
                 "start_ms": 12000.0, "end_ms": 18000.0, "detail": "latency 200 ms, jitter 50 ms"},
                {"name": "kill-new", "kind": "kill", "target": "new", "start_ms": 25000.0,
                 "end_ms": 25900.0, "detail": "SIGKILL; restarted by the supervisor"}],
            "events": [{"at_ms": 25010.4, "kind": "service_killed",
                        "message": "service 'new' killed on purpose (fault kill-new)"}]},
        "assertions": {"checks": [
            {"step": "budgets", "metric": "sql.expand.duration_ms", "value": 1670.6,
             "min": None, "max": 5000, "passed": True, "message": None},
            {"step": "budgets", "metric": "sql.expand.lock_wait_ms", "value": 812,
             "min": None, "max": 500, "passed": False,
             "message": "sql.expand.lock_wait_ms = 812 > max 500"},
            {"step": "budgets", "metric": "replay.replay.new.error_rate", "value": 0.002,
             "min": None, "max": 0.01, "passed": True, "message": None}]},
        "database": {
            "base": "app_old", "candidate": "app_new", "regression": True,
            "summary": "users.name differs in 19 rows written by the candidate",
            "schema": [
                {"kind": "column_added", "object": "users.first_name", "detail": "text",
                 "regression": False},
                {"kind": "column_added", "object": "users.last_name", "detail": "text",
                 "regression": False},
                {"kind": "trigger_added", "object": "users.users_sync_name", "detail": None,
                 "regression": False}],
            "tables": [
                {"table": "users", "rows_base": 327, "rows_candidate": 327, "missing": 0,
                 "extra": 0, "changed": 19, "regression": True,
                 "columns": [{"column": "name", "changed": 19}],
                 "examples": [{"key": "id=301", "column": "name",
                               "base": "Mary Ann van der Berg", "candidate": "Mary Ann"},
                              {"key": "id=44", "column": "name",
                               "base": "Jean Claude van Damme", "candidate": "Jean Claude"}]},
                {"table": "orders", "rows_base": 2033, "rows_candidate": 2033, "missing": 0,
                 "extra": 0, "changed": 0, "regression": False}]},
    }


def passing():
    ex = [{"tx": 5, "conn": 1, "method": "GET", "target": "/health", "kinds": ["body"],
           "paths": ["/served_at"], "patch": [{"op": "replace", "path": "/served_at",
                                              "value": "2026-05-01T12:00:00.900000Z"}],
           "noise_paths": ["/served_at"],
           "base": resp(200, {"status": "ok", "served_at": "2026-05-01T12:00:00.100000Z"}),
           "candidate": resp(200, {"status": "ok", "served_at": "2026-05-01T12:00:00.900000Z"}),
           "noise": resp(200, {"status": "ok", "served_at": "2026-05-01T12:00:00.500000Z"})}]
    return {
        "format": "rehearse-diff", "version": 1, "created_by": "rehearse 0.1.0",
        "created_us": 1777636800000000,
        "inputs": {"results": [{"path": "results.jsonl", "sha256": None, "trace": None,
                                "transactions": 10}],
                   "base": "v1", "candidate": "v2", "noise": "v1b",
                   "targets": [{"name": "v1", "url": "http://127.0.0.1:8081"},
                               {"name": "v2", "url": "http://127.0.0.1:8082"},
                               {"name": "v1b", "url": "http://127.0.0.1:8083"}],
                   "rules": None,
                   "reproduce": ["rehearse", "diff", "results.jsonl", "--base", "v1",
                                 "--candidate", "v2", "--noise", "v1b", "-o", "diff.json"]},
        "thresholds": {"relative": 0.2, "absolute": 0.0003, "status": 0, "error_rate": 0,
                       "latency_p99_ratio": 1.5},
        "verdict": {"result": "pass", "exit_code": 0,
                    "summary": "no regression in 1 endpoint", "reasons": []},
        "totals": {"transactions": 10, "compared": 10, "skipped": {}, "identical": 0,
                   "different_raw": 10, "different_after_noise": 0, "status_mismatches": 0,
                   "noise_compared": 10},
        "targets": {name: {"requests": 10, "errors": {}, "status_classes": {"2xx": 10},
                           "latency_us": lat(400, 700, 900, p90=650, mx=950),
                           "histogram": hist(400, 3, 10)} for name in ("v1", "v2", "v1b")},
        "endpoints": [endpoint("GET /health", 10, 10, 0, [], (10, 10, 0), (0, 0, 0),
                               {"v1": {}, "v2": {}, "v1b": {}},
                               {"v1": lat(400, 700, 900), "v2": lat(410, 720, 910),
                                "v1b": lat(395, 690, 880)},
                               "none", False,
                               [field("/served_at", "changed", 10, 10, 0, 10, False, "medium",
                                      [5])], ex)],
        "rules": [{"id": "builtin:date", "where": "built-in", "kind": "ignore_header",
                   "pattern": "Date", "endpoint": "*", "hits": 30}],
        "redaction": {"headers": ["Authorization", "Cookie", "Set-Cookie"], "json_paths": [],
                      "values_redacted": 0},
        "caps": {"endpoints": 1000, "fields_per_endpoint": 200, "examples_per_endpoint": 5,
                 "examples_per_field": 3, "example_body_bytes": 65536, "hit": {}},
    }


def no_data():
    d = passing()
    d["inputs"]["noise"] = None
    d["inputs"]["targets"] = d["inputs"]["targets"][:2]
    d["verdict"] = {"result": "no_data", "exit_code": 1,
                    "summary": "nothing could be compared: the candidate answered no request",
                    "reasons": []}
    d["totals"] = {"transactions": 10, "compared": 0, "skipped": {"candidate_error": 10},
                   "identical": 0, "different_raw": 0, "different_after_noise": 0,
                   "status_mismatches": 0, "noise_compared": 0}
    d["targets"] = {"v1": d["targets"]["v1"],
                    "v2": {"requests": 10, "errors": {"connection_refused": 10},
                           "status_classes": {}}}
    d["endpoints"] = [endpoint("GET /health", 10, 0, 0, [], (0, 0, 0), (0, 0, 0),
                               {"v1": {}, "v2": {"connection_refused": 10}},
                               {"v1": lat(400, 700, 900)}, "none", False, [], [])]
    return d


# ---------------------------------------------------------------- hostile

# Placed everywhere a string can go.  Each one that could run script tries
# to set the marker window.__xss (or the page title, or an attribute), or
# to load http://127.0.0.1:PORT/ (a listener in the test would see it).
XSS_FILE = os.path.join(ROOT, "tests", "reports", "xss-payloads.json")
with open(XSS_FILE, encoding="utf-8") as _f:
    XSS = json.load(_f)
LONG = 'A' * 70000 + '<script>window.__xss=12</script>'
# Raw bytes that are not UTF-8; the fixture writer puts them in as they are.
INVALID_UTF8 = b'bad\xff\xfe utf8 \xc3\x28 \xed\xa0\x80 end'


def xss_payloads(port):
    return [p.replace('PORT', str(port)) for p in XSS]


def xss(port):
    ps = xss_payloads(port)
    b = {"ok": True}
    evil_body = {p: p for p in ps}
    evil_body["nested"] = [{"k": p} for p in ps[:5]]
    base_b = dict(evil_body, value=1)
    cand_b = dict(evil_body, value=2)
    examples = []
    for i, p in enumerate(ps):
        examples.append({
            "tx": 1000 + i, "conn": i, "method": p[:20], "target": "/x/" + p,
            "kinds": ["body", "header", "status", p],
            "paths": ["/value", "/" + p.replace('~', '~0').replace('/', '~1'), p],
            "patch": [{"op": "replace", "path": "/value", "value": 2},
                      {"op": "add", "path": "/" + p.replace('~', '~0').replace('/', '~1'),
                       "value": p}],
            "noise_paths": [p],
            "base": {"status": 200, "headers": [["Content-Type", "application/json"],
                                                [p, p], ["X-Evil", p]],
                     "body": body(base_b), "body_encoding": "json", "truncated": False},
            "candidate": {"status": 500, "headers": [["Content-Type", p], [p, "v"]],
                          "body": body(cand_b), "body_encoding": "json", "truncated": False},
            "noise": {"status": 200, "headers": [], "body": p, "body_encoding": "text",
                      "truncated": True},
            "captured": {"status": 200, "headers": [], "body": "PHNjcmlwdD4=",
                         "body_encoding": "base64", "truncated": False}})
    examples.append({"tx": 1999, "method": "GET", "target": LONG,
                     "kinds": ["body"], "paths": [LONG], "noise_paths": [],
                     "base": {"status": 200, "headers": [[LONG, LONG]], "body": LONG,
                              "body_encoding": "text"},
                     "candidate": {"status": 200, "headers": [], "body": body({"v": LONG}),
                                   "body_encoding": "json"}})
    endpoints = []
    for i, p in enumerate(ps + [LONG]):
        name = "GET /" + p
        endpoints.append(endpoint(
            name, 10, 9, 2, [{"base": 200, "candidate": 500, "count": 2}], (9, 1, 8), (3, 0, 3),
            {p: {p: 1}, "base": {p: 2}, "cand": {"timeout": 1}},
            {"base": lat(100 + i, 200, 300), "cand": lat(120, 260, 900)},
            "high", True,
            [field("/" + p, "changed", 8, 0, 8, 9, True, "high", [1000 + i]),
             field(None, "changed", 3, 0, 3, 9, True, "medium", [1000 + i], header=p),
             field(p, p, 1, 1, 0, 9, False, "low", [])],
            [examples[i]] if i < len(examples) else []))
    endpoints[-1]["examples"] = [examples[-1]]
    endpoints[-1]["fields"][0]["examples"] = [1999]
    reasons = [{"kind": p, "endpoint": "GET /" + p, "path": "/" + p, "header": p, "rule": p,
                "risk": "high"} for p in ps]
    reasons.append({"kind": "field", "endpoint": "GET /" + LONG, "path": LONG, "rule": LONG,
                    "risk": "high"})
    return {
        "format": "rehearse-diff", "version": 1, "created_by": ps[0],
        "created_us": 1,
        "inputs": {"results": [{"path": p, "sha256": p, "trace": p, "transactions": 1}
                               for p in ps[:4]],
                   "base": "base", "candidate": "cand", "noise": ps[1],
                   "targets": [{"name": "base", "url": "javascript:window.__xss=20"},
                               {"name": "cand", "url": "http://127.0.0.1:%d/url" % port},
                               {"name": ps[1], "url": ps[2]}],
                   "rules": {"path": ps[3], "sha256": ps[4]},
                   "reproduce": ["rehearse", "diff"] + ps},
        "thresholds": {"relative": 0.2, "absolute": 0.0003, "status": 0, "error_rate": 0,
                       "latency_p99_ratio": 2},
        "verdict": {"result": "regressions", "exit_code": 1, "summary": " ".join(ps),
                    "reasons": reasons},
        "totals": {"transactions": 400, "compared": 300,
                   "skipped": {p: 1 for p in ps}, "identical": 1, "different_raw": 2,
                   "different_after_noise": 3, "status_mismatches": 4, "noise_compared": 5},
        "targets": {"base": {"requests": 400, "errors": {p: 1 for p in ps[:5]},
                             "status_classes": {p: 1},
                             "latency_us": lat(100, 200, 300, p90=150, mx=1000),
                             "histogram": hist(100, 3, 400)},
                    "cand": {"requests": 400, "errors": {"timeout": 3},
                             "status_classes": {"5xx": 2},
                             "latency_us": lat(120, 260, 900, p90=200, mx=5000),
                             "histogram": hist(130, 4, 397)},
                    ps[1]: {"requests": 1}},
        "endpoints": endpoints,
        "rules": [{"id": p, "where": p, "kind": p, "pattern": p, "endpoint": p, "hits": i}
                  for i, p in enumerate(ps)],
        "redaction": {"headers": ps[:3], "json_paths": ps[3:6], "values_redacted": 1},
        "caps": {"endpoints": 1000, "fields_per_endpoint": 200, "examples_per_endpoint": 5,
                 "examples_per_field": 3, "example_body_bytes": 65536, "hit": {p: 1}},
    }


def xss_context(port):
    ps = xss_payloads(port)
    return {
        "format": "rehearse-report-context", "version": 1,
        "run": {"scenario": ps[0], "status": ps[1], "started_at": ps[2], "duration_ms": 1000,
                "journal": ps[3]},
        "timeline": {"duration_ms": 1000,
                     "steps": [{"name": p, "kind": p, "status": p, "start_ms": 10 * i,
                                "end_ms": 10 * i + 5, "message": p, "depth": i % 3}
                               for i, p in enumerate(ps)],
                     "faults": [{"name": p, "kind": p, "target": p, "start_ms": 100,
                                 "end_ms": 200, "detail": p} for p in ps[:3]],
                     "events": [{"at_ms": 150, "kind": p, "message": p} for p in ps[:3]]},
        "assertions": {"checks": [{"step": p, "metric": p, "value": 1, "min": 0, "max": 2,
                                   "passed": i % 2 == 0, "message": p}
                                  for i, p in enumerate(ps)]},
        "database": {"base": ps[0], "candidate": ps[1], "regression": True, "summary": ps[2],
                     "schema": [{"kind": p, "object": p, "detail": p, "regression": True}
                                for p in ps[:4]],
                     "tables": [{"table": p, "changed": 1, "regression": True,
                                 "columns": [{"column": p, "changed": 1}],
                                 "examples": [{"key": p, "column": p, "base": p,
                                               "candidate": p}]} for p in ps[:4]]},
    }


def dump(obj):
    return json.dumps(obj, indent=1, ensure_ascii=False).encode("utf-8") + b"\n"


def with_invalid_utf8(data):
    """Put raw bytes that are not UTF-8 inside a few strings."""
    marker = b"bad-utf8-here"
    return data.replace(marker, INVALID_UTF8)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def xss_file(port):
    d = xss(port)
    d["endpoints"][0]["fields"].append(field("/bad-utf8-here", "changed", 1, 0, 1, 9, True,
                                             "high", []))
    d["inputs"]["targets"][0]["url"] = "bad-utf8-here"
    return with_invalid_utf8(dump(d))


def main():
    # The hostile fixtures name a port that a test listens on; the test
    # rewrites PORT_PLACEHOLDER 9 (a fixed port here) to its own.
    write(os.path.join(OUT, "demo.diff.json"), dump(demo()))
    write(os.path.join(OUT, "demo.context.json"), dump(demo_context()))
    write(os.path.join(OUT, "pass.diff.json"), dump(passing()))
    write(os.path.join(OUT, "nodata.diff.json"), dump(no_data()))
    write(os.path.join(OUT, "xss.diff.json"), xss_file(9))
    write(os.path.join(OUT, "xss.context.json"), dump(xss_context(9)))
    # fuzz seeds: the fixtures, and one small DIFF.json per payload
    for name in ("demo.diff.json", "pass.diff.json", "nodata.diff.json", "xss.diff.json"):
        with open(os.path.join(OUT, name), "rb") as f:
            write(os.path.join(FUZZ, name), f.read())
    for i, p in enumerate(xss_payloads(9)):
        d = passing()
        d["endpoints"][0]["endpoint"] = "GET /" + p
        d["endpoints"][0]["fields"][0]["path"] = "/" + p
        d["endpoints"][0]["examples"][0]["target"] = p
        d["endpoints"][0]["examples"][0]["base"]["headers"].append([p, p])
        d["endpoints"][0]["examples"][0]["base"]["body"] = body({p: p})
        d["rules"][0]["pattern"] = p
        d["inputs"]["targets"][1]["name"] = p
        d["inputs"]["candidate"] = p
        d["targets"][p] = d["targets"].pop("v2")
        d["endpoints"][0]["latency_us"][p] = d["endpoints"][0]["latency_us"].pop("v2")
        d["endpoints"][0]["errors"][p] = d["endpoints"][0]["errors"].pop("v2")
        write(os.path.join(FUZZ, "payload-%02d.diff.json" % i), dump(d))
    write(os.path.join(FUZZ, "payload-invalid-utf8.diff.json"),
          with_invalid_utf8(dump(dict(passing(), created_by="bad-utf8-here"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
