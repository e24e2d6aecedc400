"""Start a local PIK sandbox and walk one payment link through its life with the generated client.

A sandbox process runs on a free port with a temporary database; the client creates a link,
lists the account's links, fetches the link, simulates the customer's payment and shows the
link paid. The sandbox is stopped at the end, whatever happens.
"""

from __future__ import annotations

from pik_generated_client import Pik, errors
from pik_generated_client.models import PaymentLink
from pik_sandbox.testing import SandboxProcess, SandboxStartFailed

API_KEY = "sk_sandbox_demo_walkthrough"


def show(link: PaymentLink) -> None:
    """The fields a merchant looks at, one per line."""
    print(f"     id        {link.id}")
    print(f"     status    {link.status.value}")
    print(f"     amount    {link.amount} {link.currency}")
    if link.description:
        print(f"     for       {link.description}")
    print(f"     created   {link.created_at:%Y-%m-%d %H:%M:%S} UTC")
    if link.paid_at:
        print(f"     paid      {link.paid_at:%Y-%m-%d %H:%M:%S} UTC")
    print(f"     checkout  {link.url}")


def main() -> None:
    """Run the walkthrough against a fresh sandbox."""
    print("Starting a local PIK sandbox...")
    try:
        sandbox = SandboxProcess.start(api_keys=(API_KEY,))
    except SandboxStartFailed as failure:
        raise SystemExit(f"The sandbox did not start: {failure}") from None
    with sandbox:
        print(
            f"  listening on {sandbox.site_url} (API under /v1, docs at {sandbox.site_url}/docs)\n"
        )
        with Pik(api_key=API_KEY, base_url=sandbox.base_url) as pik:
            print("1. Create a payment link for 75.00 USDT")
            link = pik.payment_links.create(
                amount="75.00", currency="USDT", description="Order #1234"
            )
            show(link)

            print("\n2. List the account's payment links (newest first)")
            page = pik.payment_links.list(limit=10)
            print(f"     {page.total} link(s) in all; this page holds {len(page.data)}")
            for listed in page.data:
                status = listed.status.value
                print(f"     - {listed.id}  {status:<8} {listed.amount} {listed.currency}")

            print("\n3. Fetch it by id")
            print(f"     {link.id} is {pik.payment_links.get(link.id).status.value}")

            print("\n4. Simulate the customer's payment (a sandbox-only call)")
            paid = pik.sandbox.simulate(link.id, status="paid")
            print(f"     {paid.id} is now {paid.status.value}")

            print("\n5. Fetch it again: the payment is recorded")
            show(pik.payment_links.get(link.id))

            print("\n6. Ask for a link that does not exist: every failure is raised")
            try:
                pik.payment_links.get("pl_doesnotexist")
            except errors.NotFoundError as missing:
                print(f"     {type(missing).__name__}: HTTP {missing.status_code} {missing.code}")
            print(f"\n   The customer's view of the paid link: {paid.url}")
        print("\nStopping the sandbox.")
    print("Done.")


if __name__ == "__main__":
    main()
