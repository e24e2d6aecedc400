// What a TypeScript caller writes against the types openapi-typescript generates from
// openapi.yaml (`pik-api.d.ts`, beside this file at test time). `tsc --strict` must accept every
// plain line and reject every line under `@ts-expect-error`: if the spec loses a constraint, the
// rejected line compiles, the directive goes unused, and the compile fails.
import type { components, operations } from "./pik-api";

type CreatePaymentLinkRequest = components["schemas"]["CreatePaymentLinkRequest"];
type PaymentLink = components["schemas"]["PaymentLink"];
type PaymentLinkList =
  operations["listPaymentLinks"]["responses"][200]["content"]["application/json"];
type ListQuery = NonNullable<operations["listPaymentLinks"]["parameters"]["query"]>;
type ErrorBody = operations["getPaymentLink"]["responses"][404]["content"]["application/json"];
type SimulateRequest = components["schemas"]["SimulatePaymentLinkRequest"];

export const order: CreatePaymentLinkRequest = {
  amount: "75.00",
  currency: "USDT",
  description: "Order #1234",
};
export const anotherAsset: CreatePaymentLinkRequest = { amount: "0.00042", currency: "BTC" };
export const activePage: ListQuery = { status: "active", limit: 10, offset: 0 };
export const pay: SimulateRequest = { status: "paid" };

// @ts-expect-error an amount is a decimal string, never a JSON number
export const numericAmount: CreatePaymentLinkRequest = { amount: 75, currency: "USDT" };

// @ts-expect-error currency is required
export const missingCurrency: CreatePaymentLinkRequest = { amount: "75.00" };

// @ts-expect-error the status filter takes the documented statuses only
export const unknownStatus: ListQuery = { status: "refunded" };

// @ts-expect-error a link cannot be simulated back into `active`
export const backToActive: SimulateRequest = { status: "active" };

/** A one-line summary; the switch covers every documented status and nothing else. */
export function summarize(link: PaymentLink): string {
  const price = `${link.amount} ${link.currency}`;
  switch (link.status) {
    case "active":
      return `${price}: waiting for payment at ${link.url}`;
    case "paid":
      // paid_at is optional in the schema: present once paid, so a caller must handle absence.
      return `${price}: paid at ${link.paid_at ?? "an unknown time"}`;
    case "expired":
    case "deactivated":
      return `${price}: ${link.status}, created ${link.created_at}`;
    default: {
      const unexpected: never = link.status;
      return unexpected;
    }
  }
}

export function nextOffset(page: PaymentLinkList): number | undefined {
  const next = page.offset + page.limit;
  return next < page.total ? next : undefined;
}

export function errorCode(body: ErrorBody): string {
  return `${body.error.code}: ${body.error.message}`;
}

export function paidAt(link: PaymentLink): string {
  // @ts-expect-error paid_at may be absent, so it is not a plain string
  const when: string = link.paid_at;
  return when;
}
