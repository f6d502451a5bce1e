#!/usr/bin/env python3
"""Generate pairs of API-like JSON response bodies for bench/diff.sh.

    gen_json_pairs.py OLD.jsonl NEW.jsonl [MEGABYTES]

Line i of OLD.jsonl and line i of NEW.jsonl are the bodies the old and the
new version of a service returned for one request: list pages of users,
single users, orders with line items, search results with scores.  NEW
differs the way real migrations do: timestamps and request ids always,
now and then a changed value, an element added or removed, a number
written 1.0 instead of 1, members in another order.  MEGABYTES (default
200) is the total size of both files.  The seed is fixed.
"""
import json
import random
import sys

R = random.Random(20240601)
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray").split()


def ts(day, sec):
    return "2024-05-%02dT%02d:%02d:%02d.%03dZ" % (day % 28 + 1, sec // 3600 % 24, sec // 60 % 60,
                                                  sec % 60, R.randrange(1000))


def uuid():
    return "%08x-%04x-4%03x-a%03x-%012x" % (R.getrandbits(32), R.getrandbits(16), R.getrandbits(12),
                                          R.getrandbits(12), R.getrandbits(48))


def user(i):
    return {
        "id": i,
        "uuid": uuid(),
        "name": "%s %s" % (R.choice(WORDS).title(), R.choice(WORDS).title()),
        "email": "user%d@example.com" % i,
        "active": R.random() < 0.8,
        "score": round(R.random() * 100, 3),
        "balance": round(R.uniform(-500, 5000), 2),
        "roles": R.sample(["admin", "editor", "viewer", "billing", "support"], R.randint(1, 3)),
        "address": {"street": "%d %s St" % (R.randint(1, 999), R.choice(WORDS).title()),
                    "city": R.choice(["Paris", "Berlin", "Tokyo", "Lima", "Oslo"]),
                    "zip": "%05d" % R.randrange(100000), "geo": {"lat": R.uniform(-90, 90),
                                                               "lng": R.uniform(-180, 180)}},
        "preferences": {"theme": R.choice(["dark", "light"]), "locale": "en-US",
                        "notifications": {"email": True, "sms": R.random() < 0.3}},
        "bio": " ".join(R.choice(WORDS) for _ in range(R.randint(5, 40))),
        "created_at": ts(i, i * 7),
        "updated_at": ts(i, i * 13),
    }


def order(i):
    lines = [{"sku": "SKU-%05d" % R.randrange(100000), "qty": R.randint(1, 5),
              "price": round(R.uniform(1, 300), 2), "discount": 0, "tags": R.sample(WORDS, 2)}
             for _ in range(R.randint(1, 30))]
    return {"id": 100000 + i, "customer": user(i), "lines": lines, "currency": "EUR",
            "total": round(sum(l["qty"] * l["price"] for l in lines), 2), "status": "paid",
            "created_at": ts(i, i), "updated_at": ts(i, i + 5)}


def body():
    kind = R.random()
    meta = {"request_id": uuid(), "server_time": ts(1, R.randrange(86400)), "version": "v1"}
    if kind < 0.4:
        page = R.randint(1, 50)
        n = R.randint(10, 100)
        return {"data": [user(page * 100 + k) for k in range(n)],
                "meta": dict(meta, page=page, per_page=n, total=5000),
                "links": {"next": "/users?page=%d" % (page + 1), "prev": "/users?page=%d" % (page - 1)}}
    if kind < 0.6:
        return dict(user(R.randrange(100000)), meta=meta)
    if kind < 0.8:
        return {"order": order(R.randrange(100000)), "meta": meta}
    hits = [{"id": R.randrange(10 ** 9), "score": R.random(), "title": " ".join(R.sample(WORDS, 6)),
             "highlights": [" ".join(R.sample(WORDS, 4)) for _ in range(3)]}
            for _ in range(R.randint(5, 200))]
    return {"query": R.choice(WORDS), "took_ms": R.randint(1, 90), "hits": hits, "meta": meta}


def change(doc):
    """The new version's answer to the same request."""
    new = json.loads(json.dumps(doc))
    new["meta"]["request_id"] = uuid()
    new["meta"]["server_time"] = ts(2, R.randrange(86400))
    items = new.get("data") or new.get("hits") or (new.get("order") or {}).get("lines")
    r = R.random()
    if items and r < 0.15:
        items.append(json.loads(json.dumps(R.choice(items))))
    elif items and r < 0.25 and len(items) > 1:
        del items[R.randrange(len(items))]
    elif items and r < 0.45:
        item = R.choice(items)
        key = R.choice([k for k in item if k != "id"])
        item[key] = "changed" if isinstance(item[key], str) else 0
    if items and R.random() < 0.5:
        for item in items:
            if "updated_at" in item:
                item["updated_at"] = ts(3, R.randrange(86400))
    if R.random() < 0.1:
        new = dict(reversed(list(new.items())))
    return new


def main():
    old_path, new_path = sys.argv[1], sys.argv[2]
    budget = (int(sys.argv[3]) if len(sys.argv) > 3 else 200) << 20
    size = 0
    with open(old_path, "w") as fo, open(new_path, "w") as fn:
        while size < budget:
            a = body()
            b = change(a)
            ta = json.dumps(a, separators=(",", ":"))
            tb = json.dumps(b, separators=(",", ":"))
            if R.random() < 0.05:
                tb = tb.replace('"discount":0', '"discount":0.0')
            fo.write(ta + "\n")
            fn.write(tb + "\n")
            size += len(ta) + len(tb)


if __name__ == "__main__":
    main()
