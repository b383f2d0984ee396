import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planStampTakeBack, type StampRecord, stampsTakenAfter } from "../../src/earning/stamp-take-back";

const record = (over: Partial<StampRecord> = {}): StampRecord => ({
  cardId: "c",
  counts: "quantity",
  given: 3,
  taken: 0,
  byAmount: 0,
  ...over,
});
const state = (refundedAmount: number, refundedItems: [string, number][] | null = null, amount = 1000) => ({
  amount,
  refundedAmount,
  refundedItems: refundedItems ? new Map(refundedItems) : null,
});

describe("stamps taken back by refunds", () => {
  it("a full refund takes every stamp back", () => {
    expect(stampsTakenAfter(record(), state(1000))).toBe(3);
    expect(stampsTakenAfter(record({ counts: "orders", given: 1 }), state(1000))).toBe(1);
    // An order of amount 0 is refunded in full once: its refunded items mark it.
    expect(stampsTakenAfter(record({ counts: "orders", given: 1 }), state(0, null, 0))).toBe(0);
    expect(stampsTakenAfter(record({ counts: "orders", given: 1 }), state(0, [], 0))).toBe(1);
  });

  it("net of refunds below the card's minimum takes every stamp back", () => {
    const r = record({ counts: "orders", given: 1, minAmount: 800 });
    expect(stampsTakenAfter({ ...r, byAmount: 200 }, state(200))).toBe(0);
    expect(stampsTakenAfter({ ...r, byAmount: 201 }, state(201))).toBe(1);
  });

  it("refunds by items take back the refunded matching units only", () => {
    const r = record({ units: [["tea", 3]] });
    // The cake is refunded: no stamp was for it.
    expect(stampsTakenAfter(r, state(400, [["cake", 1]]))).toBe(0);
    expect(stampsTakenAfter(r, state(600, [["tea", 2]]))).toBe(2);
    // An orders card keeps its stamp while a matching unit is left.
    const o = record({ counts: "orders", given: 1, units: [["tea", 2]] });
    expect(stampsTakenAfter(o, state(300, [["tea", 1]]))).toBe(0);
    expect(stampsTakenAfter(o, state(600, [["tea", 2]]))).toBe(1);
  });

  it("refunds by amount take back in proportion, rounded in the member's favour", () => {
    expect(stampsTakenAfter(record({ byAmount: 333 }), state(333))).toBe(0);
    expect(stampsTakenAfter(record({ byAmount: 334 }), state(334))).toBe(1);
    // An orders card without item conditions keeps its stamp until the order is refunded in full.
    expect(stampsTakenAfter(record({ counts: "orders", given: 1, byAmount: 999 }), state(999))).toBe(0);
  });

  it("partial refunds in any order end where one full refund does, and never give stamps back", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
        (amount, given, parts) => {
          let records = [record({ given })];
          let refunded = 0;
          let total = 0;
          for (const part of parts) {
            const r = Math.min(part, amount - refunded);
            if (r <= 0) break;
            refunded += r;
            const plan = planStampTakeBack(records, state(refunded, null, amount), r);
            const back = plan.takeBack[0]?.stamps ?? 0;
            expect(back).toBeGreaterThanOrEqual(0);
            total += back;
            records = plan.records;
          }
          const last = planStampTakeBack(records, state(amount, null, amount), amount - refunded);
          total += last.takeBack[0]?.stamps ?? 0;
          expect(total).toBe(given);
          expect(last.records[0]!.taken).toBe(given);
        },
      ),
    );
  });
});
