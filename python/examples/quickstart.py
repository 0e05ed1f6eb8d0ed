"""The quick start, translated line by line from its TypeScript into Python.

Run with ``python python/examples/quickstart.py [path/to/policy.json]`` (default: the repository's
``tests/policies/quickstart.json``). Each section loads a fresh policy, as the quick start does.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from limitr import Limitr

POLICY = Path(__file__).resolve().parents[2] / "tests" / "policies" / "quickstart.json"


def read_file_sync(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def main(path: Path = POLICY) -> None:
    # Load the policy and create customers
    policy_doc = read_file_sync(path)
    policy = await Limitr.new(policy_doc, "json")

    await policy.create_customer("user_starter", "starter")
    await policy.create_customer("user_growth", "growth")

    print("Policy loaded. Customers created.")
    print("Starter limit:", await policy.limit("user_starter", "ai-chat-input"))
    print("Growth limit: ", await policy.limit("user_growth", "ai-chat-input"))

    # Enforce a limit
    policy = await Limitr.new(read_file_sync(path), "json")
    await policy.create_customer("user_starter", "starter")

    requests = [120000, 95000, 180000, 60000, 90000]

    for tokens in requests:
        if await policy.allow("user_starter", "ai-chat-access"):
            if await policy.allow("user_starter", "ai-chat-input", tokens):
                await policy.allow("user_starter", "ai-chat-output", tokens / 2.2)

                remaining = await policy.remaining("user_starter", "ai-chat-input") or 0
                output = await policy.value("user_starter", "ai-chat-output") or 0
                print(
                    f"✓ Allowed {tokens:,} input tokens — {remaining:,} remaining, "
                    f"{output:,} output tokens used"
                )
            else:
                remaining = await policy.remaining("user_starter", "ai-chat-input") or 0
                print(f"✗ Denied {tokens:,} tokens — limit exceeded ({remaining:,} remaining)")
        else:
            print("no ai-chat-access on this plan")

    # Handle an event
    policy = await Limitr.new(read_file_sync(path), "json")
    await policy.create_customer("user_starter", "starter")

    def limit_reached_handler(key: str, value: dict[str, Any]) -> None:
        if key == "meter-limit":
            record = value  # Python handlers get the payload as a dict (JS: a JSON string)
            meter, customer, plan, entitlement, credit = (
                record["meter"], record["customer"], record["plan"], record["entitlement"], record["credit"]
            )

            print(f"""
Customer {customer['id']} hit their limit for {entitlement}.
Used: {meter['value']} tokens. Total: {meter['limit']}. Attempted: {meter['invalid']}.
Plan: {plan}. Credit: {credit['description']}.
""")

    policy.add_handler("limit-reached-handler", limit_reached_handler)

    requests = [120000, 95000, 180000, 60000, 90000]
    for tokens in requests:
        await policy.allow("user_starter", "ai-chat-input", tokens)

    # Read customer state
    customer = await policy.customer("user_starter")
    print(json.dumps(customer, indent=2))

    # Or read individual values
    pct = await policy.value("user_starter", "ai-chat-input", True)
    print(f"Usage: {pct}% of daily token budget")

    # The policy itself is serializable too
    obj = policy.doc.record()  # a dict
    as_json = policy.doc.stringify("json")
    as_yaml = policy.doc.stringify("yaml")
    as_toml = policy.doc.stringify("toml")
    assert obj["policy"]["customers"]["user_starter"]["plan"] == "starter"
    assert as_json and as_yaml and as_toml

    # Apply a credit grant
    policy = await Limitr.new(read_file_sync(path), "json")
    await policy.create_customer("user_growth", "growth")

    # Grant 10 abstract AI tokens to this customer
    await policy.apply_customer_topup("user_growth", "ai-token-small")

    # 700,000 included, then the grant covers overage (via exchange table)
    requests = [520000, 98000, 200000, 60000, 900000]
    for tokens in requests:
        await policy.allow("user_growth", "ai-chat-input", tokens)

    customer = await policy.customer("user_growth")
    assert customer is not None
    print(customer["meters"])

    for _, grant in customer["grants"].items():
        if grant["topup"] == "ai-token-small":
            print("Grant starting value:", grant["starting_value"])
            print("Grant current value: ", round(grant["value"] * 100) / 100)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else POLICY))
