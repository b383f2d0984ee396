import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileExpression, expressionContext, expressionHolds, MAX_EXPRESSION_LENGTH } from "../../src/earning/expression";

const order = {
  amount: 12_800,
  currency: "CNY",
  occurredAt: 0,
  channel: "app",
  items: [{ sku: "a", category: "tea", quantity: 2, unitPrice: 6400 }],
};
const member = { tierId: "gold", previousOrders: 4, attributes: { vip: true, visits: 3, city: "Hangzhou" } };
const context = expressionContext(order, member);

describe("CEL expressions", () => {
  it("evaluates over order and member, ints as ints", () => {
    expect(
      expressionHolds("order.amount >= 12800 && order.currency == 'CNY'", context),
      "order.amount >= 12800 && order.currency == 'CNY'",
    ).toBe(true);
    expect(
      expressionHolds("member.tier == 'gold' && member.orderCount > 3", context),
      "member.tier == 'gold' && member.orderCount > 3",
    ).toBe(true);
    expect(
      expressionHolds("member.attributes.visits > 2 && member.attributes.city == 'Hangzhou'", context),
      "member.attributes.visits > 2 && member.attributes.city == 'Hangzhou'",
    ).toBe(true);
    expect(
      expressionHolds("order.items.map(i, i.unitPrice * i.quantity).exists(v, v == 12800)", context),
      "order.items.map(i, i.unitPrice * i.quantity).exists(v, v == 12800)",
    ).toBe(true);
    expect(expressionHolds("order.channel == 'web'", context), "order.channel == 'web'").toBe(false);
  });

  it("is false, not an error, when an attribute is missing", () => {
    expect(expressionHolds("member.attributes.nothing == true", context), "member.attributes.nothing == true").toBe(false);
  });

  it("refuses with a position: syntax, unknown fields, non-boolean, nested macros, matches, oversize", () => {
    const message = (src: string) => {
      const compiled = compileExpression(src);
      return compiled.ok ? "ok" : compiled.message;
    };
    expect(message("order.amount >")).toMatch(/position 14/);
    expect(message("order.nope == 1")).toMatch(/nope.*position \d+/);
    expect(message("order.amount")).toMatch(/must be boolean/);
    expect(message("order.items.all(a, order.items.all(b, a.sku == b.sku))")).toMatch(/nested/);
    expect(message("order.channel.matches('a')")).toMatch(/matches/);
    expect(message("x".repeat(MAX_EXPRESSION_LENGTH + 1))).toMatch(/at most/);
    expect(message(`${"true && ".repeat(150)}true`)).not.toBe("ok");
  });

  it("never throws on any input, and compiles only boolean expressions", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (src) => {
        const compiled = compileExpression(src);
        if (compiled.ok) expect(compiled.program.check().type).toBe("bool");
      }),
    );
  });
});
