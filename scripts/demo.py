"""Show the generated client parsing the example responses PIK documents."""

from __future__ import annotations

import json
from pathlib import Path

from pik_generated_client.models import ErrorResponse, PaymentLink, PaymentLinkList

SEED = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seed"


def show_link(link: PaymentLink, indent: str = "  ") -> None:
    """Print the fields a merchant looks at first."""
    print(f"{indent}{link.id}  {link.status.value:<11} {link.amount} {link.currency}  {link.url}")
    print(f"{indent}  created {link.created_at.isoformat()}", end="")
    if link.paid_at:
        print(f", paid {link.paid_at.isoformat()}", end="")
    print()


def main() -> None:
    """Parse each documented example and show it, then prove it serialises back unchanged."""
    for name, parse in (
        ("create_201.json", PaymentLink.from_dict),
        ("get_200_paid.json", PaymentLink.from_dict),
        ("list_200.json", PaymentLinkList.from_dict),
        ("error_404.json", ErrorResponse.from_dict),
    ):
        body = json.loads((SEED / name).read_text(encoding="utf-8"))
        parsed = parse(body)
        print(f"{name} -> {type(parsed).__name__}")
        if isinstance(parsed, PaymentLink):
            show_link(parsed)
        elif isinstance(parsed, PaymentLinkList):
            print(f"  total={parsed.total} limit={parsed.limit} offset={parsed.offset}")
            for link in parsed.data:
                show_link(link, indent="    ")
        else:
            print(f"  error {parsed.error.code}: {parsed.error.message}")
        same = parsed.to_dict() == body
        print(f"  serialises back to the same JSON: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
