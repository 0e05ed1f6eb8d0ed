"""The Python child of the journal's crash test (crates/limitr-journal/examples/crash.rs drives it
and SIGKILLs it): opens the journal given as the last argument in ``os`` sync mode and answers one
call per line, ``<op> <customer> <value> <now-ms> <idempotency-key>`` ->
``ok <true|false|error:CODE>``."""

import pathlib
import sys

from limitr import LimitrError, LimitrSync

DOC = (pathlib.Path(__file__).resolve().parents[2] / "tests" / "policies" / "quickstart.json").read_text()


def main() -> None:
    clock = {"now": 0}
    policy = LimitrSync(DOC, "json", now=lambda: clock["now"], journal=sys.argv[-1], sync="os", snapshot_every=300)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        op, customer, value, at, key = line.split()
        clock["now"] = int(at)
        v = int(value)
        try:
            if op == "create":
                policy.create_customer(customer, "starter" if v % 2 == 0 else "growth", idempotency_key=key)
                answer = "true"
            elif op == "allow":
                answer = str(policy.allow(customer, "ai-chat-input", v, idempotency_key=key)).lower()
            elif op == "set":
                answer = str(policy.set(customer, "ai-chat-output", v, idempotency_key=key)).lower()
            elif op == "topup":
                answer = str(policy.apply_customer_topup(customer, "ai-token-small", idempotency_key=key)).lower()
            else:
                raise SystemExit(f"unknown op {op}")
        except LimitrError as e:
            answer = f"error:{e.code}"
        out.write(f"ok {answer}\n")
        out.flush()


if __name__ == "__main__":
    main()
