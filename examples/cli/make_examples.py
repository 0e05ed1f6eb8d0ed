"""Writes the CLI examples: policy.json, policy-new.json (a price increase and a lower starter
limit), customers.csv and usage.csv (420 calls of 12 customers over 3 days). Deterministic:
`python3 examples/cli/make_examples.py` rewrites the same files."""
import copy
import csv
import datetime
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def limit(mode, credit, value):
    out = {"credit": credit, "value": value, "resets": True, "reset_inc": "1day"}
    if mode != "hard":
        out["mode"] = mode
    return out


def plan(label, mode, chat, images, default=False, topups=None):
    p = {"label": label}
    if default:
        p["default"] = True
    p["entitlements"] = {
        "chat": {"description": f"Chat tokens per day ({mode})", "limit": limit(mode, "chat-token", chat)},
        "images": {"description": f"Images per day ({mode})", "limit": limit(mode, "image", images)},
        "export": {"description": "CSV export (a feature flag)"},
    }
    if topups:
        p["topups"] = topups
    return p


POLICY = {"policy": {
    "credits": {
        "chat-token": {
            "description": "Chat tokens (input and output)", "stof_units": "int",
            "overhead_cost": 0.000002,
            "overhead_rates": {"by": "model", "rates": {"fast": 0.000001, "smart": 0.000003}},
            "pricing_model": "flat", "price": {"amount": 0.000004}},
        "image": {
            "description": "Generated images", "stof_units": "int", "overhead_cost": 0.02,
            "pricing_model": "tiered",
            "tiers": [{"up_to": 100, "price": {"amount": 0.05}}, {"price": {"amount": 0.03}}]},
        "ai-credit": {"description": "Prepaid credit, drawn for overage", "stof_units": "int"},
    },
    "plans": {
        "starter": plan("Starter", "hard", 50000, 20, default=True),
        "growth": plan("Growth", "soft", 200000, 40, topups={"welcome-credit": {
            "description": "Included prepaid credit, drawn before overage is billed",
            "credit": "ai-credit", "value": 40, "included": True}}),
        "scale": plan("Scale", "soft", 600000, 150),
    },
    "exchange": {
        "rune": {"value": 1, "currency": "usd"},
        "ai-credit": {"value": 0.01, "currency": "rune"},
    },
}}

CUSTOMERS = [("ada", "growth"), ("bob", "starter"), ("cyd", "starter"), ("dee", "scale"),
             ("eve", "growth"), ("fay", "starter"), ("gus", "growth"), ("hal", "scale"),
             ("ivy", "starter"), ("jon", "starter")]
# kim and lee are not in customers.csv: they get the default plan (starter)
INTENSITY = {"ada": 30000, "bob": 6000, "cyd": 1500, "dee": 60000, "eve": 22000, "fay": 3800,
             "gus": 12000, "hal": 30000, "ivy": 2000, "jon": 3500, "kim": 700, "lee": 3000}


def write_json(name, doc):
    with open(path(name), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def main():
    write_json("policy.json", POLICY)
    new = copy.deepcopy(POLICY)
    p = new["policy"]
    p["credits"]["chat-token"]["price"]["amount"] = 0.000005
    p["credits"]["image"]["tiers"][0]["price"]["amount"] = 0.06
    p["plans"]["starter"]["entitlements"]["chat"]["limit"]["value"] = 30000
    write_json("policy-new.json", new)
    with open(path("customers.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "plan"])
        w.writerows(CUSTOMERS)
    rnd = random.Random(17)
    start = 1767571200000  # 2026-01-05T00:00:00Z
    ids = list(INTENSITY)
    rows = []
    for i in range(420):
        t = start + int(i * (3 * 86400000 / 420)) + rnd.randrange(0, 60000)
        c = rnd.choice(ids)
        r = rnd.random()
        if r < 0.78:
            ent, amount = "chat", max(1, int(rnd.gauss(INTENSITY[c], INTENSITY[c] * 0.3)))
        elif r < 0.97:
            ent, amount = "images", rnd.choice([1, 1, 2, 3, 5])
        else:
            ent, amount = "export", 0
        data = json.dumps({"model": rnd.choice(["fast", "smart"])}) if ent == "chat" else ""
        ts = datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc)
        rows.append([ts.strftime("%Y-%m-%dT%H:%M:%SZ"), c, ent, amount, "", data])
    with open(path("usage.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "customer", "entitlement", "amount", "overhead", "event_data"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
