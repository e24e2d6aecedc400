"""Start a local PIK sandbox and walk one payment link through its life with the generated client.

A sandbox process runs on a free port with a temporary database; the client creates a link,
lists the account's links, fetches the link, simulates the customer's payment and shows the
link paid. The sandbox is stopped at the end, whatever happens.
"""

from __future__ import annotations

from pik_generated_client import AuthenticatedClient
from pik_generated_client.api.payment_links import (
    create_payment_link,
    get_payment_link,
    list_payment_links,
)
from pik_generated_client.api.sandbox import simulate_payment_link
from pik_generated_client.models import (
    CreatePaymentLinkRequest,
    ErrorResponse,
    PaymentLink,
    PaymentLinkList,
    SimulatePaymentLinkRequest,
    SimulatePaymentLinkRequestStatus,
)
from pik_sandbox.testing import SandboxProcess, SandboxStartFailed

API_KEY = "sk_sandbox_demo_walkthrough"


def expect_link(result: PaymentLink | ErrorResponse | None) -> PaymentLink:
    """The link from a call's result, or stop with the API's error."""
    if isinstance(result, PaymentLink):
        return result
    reason = f"{result.error.code}: {result.error.message}" if result else "no answer"
    raise SystemExit(f"The sandbox refused the call ({reason})")


def show(link: PaymentLink) -> None:
    """The fields a merchant looks at, one per line."""
    print(f"     id        {link.id}")
    print(f"     status    {link.status.value}")
    print(f"     amount    {link.amount} {link.currency}")
    if isinstance(link.description, str):
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
        client = AuthenticatedClient(base_url=sandbox.base_url, token=API_KEY)

        print("1. Create a payment link for 75.00 USDT")
        request = CreatePaymentLinkRequest(
            amount="75.00", currency="USDT", description="Order #1234"
        )
        link = expect_link(create_payment_link.sync(client=client, body=request))
        show(link)

        print("\n2. List the account's payment links (newest first)")
        page = list_payment_links.sync(client=client, limit=10)
        if not isinstance(page, PaymentLinkList):
            raise SystemExit("The sandbox did not list the links")
        print(f"     {page.total} link(s) in all; this page holds {len(page.data)}")
        for listed in page.data:
            status = listed.status.value
            print(f"     - {listed.id}  {status:<8} {listed.amount} {listed.currency}")

        print("\n3. Fetch it by id")
        fetched = expect_link(get_payment_link.sync(link.id, client=client))
        print(f"     {fetched.id} is {fetched.status.value}")

        print("\n4. Simulate the customer's payment (a sandbox-only call)")
        paid = expect_link(
            simulate_payment_link.sync(
                link.id,
                client=client,
                body=SimulatePaymentLinkRequest(status=SimulatePaymentLinkRequestStatus.PAID),
            )
        )
        print(f"     {paid.id} is now {paid.status.value}")

        print("\n5. Fetch it again: the payment is recorded")
        show(expect_link(get_payment_link.sync(link.id, client=client)))
        print(f"\n   The customer's view of it: {paid.url}")
        print("\nStopping the sandbox.")
    print("Done.")


if __name__ == "__main__":
    main()
