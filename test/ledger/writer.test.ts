/**
 * The ledger writer, directly against local D1: each operation's batch is built with LedgerWriter, run with
 * env.DB.batch, and the rows it wrote are read back (account row, lots, lot moves, entries) and checked
 * against the ledger invariants.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { type CreditInput, LedgerWriter, NEVER_EXPIRES_KEY } from "../../src/ledger/statements";
import { MAX_TOTAL } from "../../src/platform/assert";
import { classifyBatchError } from "../../src/platform/db";
import { checkMemberInvariants } from "../support/invariants";

const MERCHANT = "m-ledger-writer";
const T0 = Date.parse("2027-01-01T00:00:00Z");
const MINUTE = 60_000;
const DAY = 86_400_000;

let serial = 0;
const next = (prefix: string) => `${prefix}-${++serial}`;

beforeAll(async () => {
  await env.DB.prepare(`INSERT INTO merchants (id, name, currency, timezone, created_at) VALUES (?1, 'Ledger', 'CNY', 'UTC', ?2)`)
    .bind(MERCHANT, T0)
    .run();
});

/** A fresh member enrolled at T0 with nothing on its account. */
async function newMember(): Promise<string> {
  const id = next("member");
  await env.DB.prepare(`INSERT INTO members (merchant_id, id, enrolled_at, updated_at) VALUES (?1, ?2, ?3, ?3)`)
    .bind(MERCHANT, id, T0)
    .run();
  return id;
}

const writer = (memberId: string, at = T0) => new LedgerWriter(env.DB, MERCHANT, memberId, at);
const run = async (w: LedgerWriter) => {
  await env.DB.batch(w.statements);
  await checkMemberInvariants(MERCHANT, w.memberId);
};

function earn(entryId: string, points: number, at = T0, extra: Partial<CreditInput> = {}): CreditInput {
  return {
    entryId,
    type: "earn",
    points,
    pending: false,
    availableAt: at,
    expiresAt: null,
    countsAsEarned: true,
    refs: { orderId: `order-of-${entryId}` },
    ...extra,
  };
}

interface Account {
  balance: number;
  pending: number;
  held: number;
  lifetime_earned: number;
  lifetime_redeemed: number;
  order_count: number;
  entry_seq: number;
  next_release_at: number | null;
  last_activity_at: number | null;
  last_order_at: number | null;
}

async function account(memberId: string): Promise<Account> {
  const row = await env.DB.prepare(`SELECT * FROM members WHERE merchant_id = ?1 AND id = ?2`)
    .bind(MERCHANT, memberId)
    .first<Account>();
  if (!row) throw new Error(`no member ${memberId}`);
  return row;
}

async function lot(id: string) {
  const row = await env.DB.prepare(
    `SELECT points, remaining, expired, owed, is_pending AS pending, expire_key AS expireKey, order_id AS orderId FROM point_lots WHERE id = ?1`,
  )
    .bind(id)
    .first<{
      points: number;
      remaining: number;
      expired: number;
      owed: number;
      pending: number;
      expireKey: number;
      orderId: string;
    }>();
  if (!row) throw new Error(`no lot ${id}`);
  return row;
}

/** [type, points, balance_after, seq] of every entry, in seq order. */
async function entries(memberId: string) {
  const { results } = await env.DB.prepare(
    `SELECT type, points, balance_after, seq, reason, id, lot_id FROM ledger_entries WHERE merchant_id = ?1 AND member_id = ?2 ORDER BY seq`,
  )
    .bind(MERCHANT, memberId)
    .all<{
      type: string;
      points: number;
      balance_after: number;
      seq: number;
      reason: string | null;
      id: string;
      lot_id: string;
    }>();
  return results;
}
const shape = async (memberId: string) => (await entries(memberId)).map((e) => [e.type, e.points, e.balance_after, e.seq]);

/** Lot moves recorded under `moveId`, as lot -> points. */
async function moves(moveId: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(`SELECT lot_id, points FROM lot_moves WHERE move_id = ?1 ORDER BY lot_id`)
    .bind(moveId)
    .all<{ lot_id: string; points: number }>();
  return Object.fromEntries(results.map((r) => [r.lot_id, r.points]));
}
const payers = (memberId: string) => moves(`paid:${MERCHANT}:${memberId}`);

/** Everything the member's rows hold, to prove an aborted batch wrote nothing. */
async function snapshot(memberId: string) {
  const [a, l, e, m] = await env.DB.batch([
    env.DB.prepare(`SELECT * FROM members WHERE merchant_id = ?1 AND id = ?2`).bind(MERCHANT, memberId),
    env.DB.prepare(`SELECT * FROM point_lots WHERE merchant_id = ?1 AND member_id = ?2 ORDER BY id`).bind(MERCHANT, memberId),
    env.DB.prepare(`SELECT * FROM ledger_entries WHERE merchant_id = ?1 AND member_id = ?2 ORDER BY seq`).bind(
      MERCHANT,
      memberId,
    ),
    env.DB.prepare(`SELECT * FROM lot_moves WHERE merchant_id = ?1 AND member_id = ?2 ORDER BY move_id, lot_id`).bind(
      MERCHANT,
      memberId,
    ),
  ]);
  return [a?.results, l?.results, e?.results, m?.results];
}

/** A hold's redemption row, so held == open holds. */
async function holdRow(id: string, memberId: string, points: number, at = T0) {
  await env.DB.prepare(
    `INSERT INTO redemptions (id, merchant_id, member_id, points, value, status, hold_expires_at, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?4, 'held', ?5, ?6, ?6)`,
  )
    .bind(id, MERCHANT, memberId, points, at + 15 * MINUTE, at)
    .run();
}

describe("credit", () => {
  it("adds a spendable lot, the balance, lifetime earned and an earn entry", async () => {
    const member = await newMember();
    await run(writer(member, T0 + 5).credit(earn("lot-plain", 120, T0 + 5)));
    expect(await account(member)).toMatchObject({
      balance: 120,
      pending: 0,
      lifetime_earned: 120,
      entry_seq: 1,
      last_activity_at: T0 + 5,
      order_count: 0,
    });
    expect(await lot("lot-plain")).toMatchObject({ points: 120, remaining: 120, pending: 0, expireKey: NEVER_EXPIRES_KEY });
    const [entry] = await entries(member);
    expect(entry).toMatchObject({ id: "lot-plain", type: "earn", points: 120, balance_after: 120, seq: 1, lot_id: "lot-plain" });
  });

  it("a pending credit goes to pending, sets the next release time, and bumps the order count with orderAt", async () => {
    const member = await newMember();
    const availableAt = T0 + 7 * DAY;
    await run(writer(member).credit(earn("lot-pending", 80, T0, { pending: true, availableAt, orderAt: T0 - 1000 })));
    expect(await account(member)).toMatchObject({
      balance: 0,
      pending: 80,
      lifetime_earned: 80,
      next_release_at: availableAt,
      order_count: 1,
      last_order_at: T0 - 1000,
    });
    expect(await lot("lot-pending")).toMatchObject({ remaining: 80, pending: 1 });
    expect(await shape(member)).toEqual([["earn", 80, 0, 1]]);
  });

  it("a goodwill credit does not count as earned; touchOrder counts an order that earned nothing", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("lot-gift", 30, T0, { type: "adjust", countsAsEarned: false, refs: {} })));
    await run(writer(member, T0 + 10).touchOrder(T0 + 9));
    expect(await account(member)).toMatchObject({
      balance: 30,
      lifetime_earned: 0,
      order_count: 1,
      last_order_at: T0 + 9,
      last_activity_at: T0 + 10,
      entry_seq: 1,
    });
    expect(await shape(member)).toEqual([["adjust", 30, 30, 1]]);
  });

  it("repays debt first: the new lot keeps only what is left and is recorded as a payer", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("debt-a", 50)));
    await run(writer(member).spend({ entryId: "debt-spend", type: "redeem", points: 50, moveId: "debt-r1" }));
    await run(writer(member).reverse({ entryId: "debt-rev", points: 50, orderId: "o", ownLotId: "debt-a", refundId: "rf" }));
    expect((await account(member)).balance).toBe(-50);
    expect(await lot("debt-a")).toMatchObject({ remaining: 0, owed: 50 });

    await run(writer(member).credit(earn("debt-b", 80)));
    expect(await account(member)).toMatchObject({ balance: 30, lifetime_earned: 80 });
    expect(await lot("debt-b")).toMatchObject({ points: 80, remaining: 30 });
    expect(await payers(member)).toEqual({ "debt-b": 50 });
    expect(await shape(member)).toEqual([
      ["earn", 50, 50, 1],
      ["redeem", -50, 0, 2],
      ["refund_reversal", -50, -50, 3],
      ["earn", 80, 30, 4],
    ]);
  });
});

describe("spend", () => {
  it("takes the soonest-expiring lots first and records the moves", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("sp-late", 100, T0, { expiresAt: T0 + 60 * DAY })));
    await run(writer(member).credit(earn("sp-soon", 40, T0, { expiresAt: T0 + 30 * DAY })));
    await run(writer(member).credit(earn("sp-never", 10)));
    await run(writer(member, T0 + 1).spend({ entryId: "sp-1", type: "redeem", points: 70, moveId: "sp-move" }));
    expect(await moves("sp-move")).toEqual({ "sp-soon": 40, "sp-late": 30 });
    expect((await lot("sp-soon")).remaining).toBe(0);
    expect((await lot("sp-late")).remaining).toBe(70);
    expect((await lot("sp-never")).remaining).toBe(10);
    expect(await account(member)).toMatchObject({ balance: 80, lifetime_redeemed: 70, held: 0, last_activity_at: T0 + 1 });
    expect((await shape(member)).at(-1)).toEqual(["redeem", -70, 80, 4]);
  });

  it("an overdraw aborts the whole batch with insufficient_points and writes nothing", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("od-a", 10)));
    const before = await snapshot(member);
    // The credit in front of the spend is rolled back with it: one batch, one transaction.
    const w = writer(member, T0 + 1)
      .credit(earn("od-b", 5, T0 + 1))
      .spend({ entryId: "od-1", type: "redeem", points: 16, moveId: "od-move" });
    await expect(env.DB.batch(w.statements)).rejects.toThrow(/insufficient_points/);
    expect(await snapshot(member)).toEqual(before);
    await checkMemberInvariants(MERCHANT, member);
  });

  it("a credit past 2^53 - 1 aborts with total_limit and writes nothing", async () => {
    const member = await newMember();
    const near = Number.MAX_SAFE_INTEGER - 5;
    await env.DB.batch([
      env.DB.prepare(`UPDATE members SET balance = ?1 WHERE merchant_id = ?2 AND id = ?3`).bind(near, MERCHANT, member),
      env.DB.prepare(
        `INSERT INTO point_lots (id, merchant_id, member_id, entry_id, points, remaining, is_pending, created_at, available_at, expire_key)
         VALUES ('big-lot', ?1, ?2, 'big-lot', ?3, ?3, 0, ?4, ?4, ?5)`,
      ).bind(MERCHANT, member, near, T0, NEVER_EXPIRES_KEY),
      env.DB.prepare(
        `INSERT INTO ledger_entries (id, merchant_id, member_id, seq, type, points, balance_after, created_at)
         VALUES ('big-lot', ?1, ?2, 1, 'adjust', ?3, ?3, ?4)`,
      ).bind(MERCHANT, member, near, T0),
      env.DB.prepare(`UPDATE members SET entry_seq = 1 WHERE merchant_id = ?1 AND id = ?2`).bind(MERCHANT, member),
    ]);
    const before = await snapshot(member);
    await expect(env.DB.batch(writer(member).credit(earn("big-over", 6)).statements)).rejects.toThrow(/total_limit/);
    expect(await snapshot(member)).toEqual(before);
    await run(writer(member).credit(earn("big-ok", 5)));
    expect((await account(member)).balance).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("pending points and lifetime earned are held to 2^53 - 1 too, by the member row's own check", async () => {
    const pending = await newMember();
    await env.DB.prepare(`UPDATE members SET balance = ?1, lifetime_earned = ?2 WHERE merchant_id = ?3 AND id = ?4`)
      .bind(Number.MAX_SAFE_INTEGER - 10, 0, MERCHANT, pending)
      .run();
    const before = await snapshot(pending);
    const waiting = earn("pending-over", 11, T0, { pending: true, availableAt: T0 + 1000 });
    const failure = await env.DB.batch(writer(pending).credit(waiting).statements).catch(classifyBatchError);
    // Read back as a guard's reason, so the API answers it as any total past the limit (422).
    expect(failure).toEqual({ kind: "guard", reason: "total_limit" });
    expect(await snapshot(pending)).toEqual(before);
    const earned = await newMember();
    await env.DB.prepare(`UPDATE members SET lifetime_earned = ?1 WHERE merchant_id = ?2 AND id = ?3`)
      .bind(Number.MAX_SAFE_INTEGER - 1, MERCHANT, earned)
      .run();
    await expect(env.DB.batch(writer(earned).credit(earn("earned-over", 2)).statements)).rejects.toThrow(/total_limit/);
    // A goodwill adjustment does not count as earned: it passes.
    await run(writer(earned).credit(earn("adjust-ok", 2, T0, { type: "adjust", countsAsEarned: false })));
    // The check runs after the update: a trigger before it would make SQLite read every updated row twice.
    const touch = await env.DB.prepare(`UPDATE members SET balance = balance WHERE merchant_id = ?1 AND id = ?2`)
      .bind(MERCHANT, earned)
      .run();
    expect(touch.meta.rows_read).toBe(1);
    // The check's bound is the engine's own.
    const trigger = await env.DB.prepare(`SELECT sql FROM sqlite_master WHERE name = 'members_total_limit'`).first<{
      sql: string;
    }>();
    expect(trigger?.sql).toContain(`> ${MAX_TOTAL} OR`);
  });
});

describe("hold, capture and restore", () => {
  it("a hold moves points to held; a capture writes release + redeem that net to zero", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("h-a", 100)));
    const w = writer(member).spend({
      entryId: "h-hold",
      type: "hold",
      points: 40,
      moveId: "hold-1",
      refs: { redemptionId: "hold-1" },
    });
    await holdRow("hold-1", member, 40);
    await run(w);
    expect(await account(member)).toMatchObject({ balance: 60, held: 40, lifetime_redeemed: 0 });
    expect(await moves("hold-1")).toEqual({ "h-a": 40 });

    const c = writer(member, T0 + MINUTE);
    c.statements.push(env.DB.prepare(`UPDATE redemptions SET status = 'captured' WHERE id = 'hold-1'`));
    await run(c.capture("h-release", "h-redeem", 40, { redemptionId: "hold-1" }));
    expect(await account(member)).toMatchObject({ balance: 60, held: 0, lifetime_redeemed: 40 });
    expect(await shape(member)).toEqual([
      ["earn", 100, 100, 1],
      ["hold", -40, 60, 2],
      ["release", 40, 100, 3],
      ["redeem", -40, 60, 4],
    ]);
    expect((await lot("h-a")).remaining).toBe(60);
  });

  it("a cancel puts back exactly the points it took, into the lots they came from", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("c-a", 30, T0, { expiresAt: T0 + DAY })));
    await run(writer(member).credit(earn("c-b", 50)));
    await run(writer(member).spend({ entryId: "c-spend", type: "redeem", points: 60, moveId: "c-r1" }));
    expect(await moves("c-r1")).toEqual({ "c-a": 30, "c-b": 30 });
    await run(
      writer(member).restore({ entryId: "c-ret", type: "redemption_return", points: 60, moveId: "c-r1", fromHeld: false }),
    );
    expect(await lot("c-a")).toMatchObject({ remaining: 30, owed: 0 });
    expect(await lot("c-b")).toMatchObject({ remaining: 50, owed: 0 });
    expect(await account(member)).toMatchObject({ balance: 80, lifetime_redeemed: 0, held: 0 });
    expect((await shape(member)).at(-1)).toEqual(["redemption_return", 60, 80, 4]);
  });

  it("a cancel after the order was refunded settles the refund's debt instead of refilling the lot", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("cd-a", 100)));
    await run(writer(member).spend({ entryId: "cd-spend", type: "redeem", points: 100, moveId: "cd-r1" }));
    await run(writer(member).reverse({ entryId: "cd-rev", points: 100, orderId: "o", ownLotId: "cd-a", refundId: "rf" }));
    expect(await account(member)).toMatchObject({ balance: -100, lifetime_earned: 0 });
    expect(await lot("cd-a")).toMatchObject({ remaining: 0, owed: 100 });

    await run(
      writer(member).restore({ entryId: "cd-ret", type: "redemption_return", points: 100, moveId: "cd-r1", fromHeld: false }),
    );
    expect(await account(member)).toMatchObject({ balance: 0, lifetime_redeemed: 0 });
    expect(await lot("cd-a")).toMatchObject({ remaining: 0, owed: 0 });
    expect((await shape(member)).at(-1)).toEqual(["redemption_return", 100, 0, 4]);
  });

  it("a cancel while in debt from elsewhere repays the debt from the returned points", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("dx-a", 100)));
    await run(writer(member).credit(earn("dx-b", 40)));
    // 100 from a then 40 from b: both empty.
    await run(writer(member).spend({ entryId: "dx-s1", type: "redeem", points: 140, moveId: "dx-r1" }));
    // Refund of b's order: b is empty, so 40 becomes debt that b owes.
    await run(writer(member).reverse({ entryId: "dx-rev", points: 40, orderId: "ob", ownLotId: "dx-b", refundId: "rf" }));
    expect((await account(member)).balance).toBe(-40);
    // A cancel returns 140: 40 go back to b and settle its claim (the debt), the rest refill a.
    await run(
      writer(member).restore({ entryId: "dx-ret", type: "redemption_return", points: 140, moveId: "dx-r1", fromHeld: false }),
    );
    expect(await account(member)).toMatchObject({ balance: 100, lifetime_redeemed: 0 });
    expect(await lot("dx-a")).toMatchObject({ remaining: 100 });
    expect(await lot("dx-b")).toMatchObject({ remaining: 0, owed: 0 });
    expect((await shape(member)).at(-1)).toEqual(["redemption_return", 140, 100, 5]);
  });
});

describe("reverse", () => {
  it("takes from the order's own lot, pending or not, leaving other lots alone", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("r-other", 100)));
    await run(writer(member).credit(earn("r-own", 100, T0, { pending: true, availableAt: T0 + DAY })));
    await run(writer(member).reverse({ entryId: "r-rev", points: 40, orderId: "o", ownLotId: "r-own", refundId: "rf" }));
    expect(await moves("r-rev")).toEqual({ "r-own": 40 });
    expect((await lot("r-own")).remaining).toBe(60);
    expect((await lot("r-other")).remaining).toBe(100);
    expect(await account(member)).toMatchObject({ balance: 100, pending: 60, lifetime_earned: 160 });
    expect((await shape(member)).at(-1)).toEqual(["refund_reversal", -40, 100, 3]);
  });

  it("takes the shortfall from other lots, which become payers of the own lot's claim", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("ro-own", 100, T0, { expiresAt: T0 + DAY })));
    await run(writer(member).credit(earn("ro-other", 100)));
    await run(writer(member).spend({ entryId: "ro-spend", type: "redeem", points: 80, moveId: "ro-r1" }));
    expect(await moves("ro-r1")).toEqual({ "ro-own": 80 });
    await run(writer(member).reverse({ entryId: "ro-rev", points: 50, orderId: "o", ownLotId: "ro-own", refundId: "rf" }));
    expect(await moves("ro-rev")).toEqual({ "ro-own": 20, "ro-other": 30 });
    expect(await lot("ro-own")).toMatchObject({ remaining: 0, owed: 30 });
    expect((await lot("ro-other")).remaining).toBe(70);
    expect(await payers(member)).toEqual({ "ro-other": 30 });
    expect(await account(member)).toMatchObject({ balance: 70, lifetime_earned: 150 });
    expect((await shape(member)).at(-1)).toEqual(["refund_reversal", -50, 70, 4]);
  });

  it("goes into debt when no lot has points left, and writes no entry for zero", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("rd-own", 60)));
    await run(writer(member).spend({ entryId: "rd-spend", type: "redeem", points: 60, moveId: "rd-r1" }));
    await run(writer(member).reverse({ entryId: "rd-rev", points: 60, orderId: "o", ownLotId: "rd-own", refundId: "rf" }));
    expect(await moves("rd-rev")).toEqual({});
    expect(await lot("rd-own")).toMatchObject({ remaining: 0, owed: 60 });
    expect(await account(member)).toMatchObject({ balance: -60, lifetime_earned: 0, entry_seq: 3 });
    expect((await shape(member)).at(-1)).toEqual(["refund_reversal", -60, -60, 3]);
    await run(writer(member).reverse({ entryId: "rd-zero", points: 0, orderId: "o", ownLotId: "rd-own", refundId: "rf2" }));
    expect(await entries(member)).toHaveLength(3);
    expect((await account(member)).entry_seq).toBe(3);
  });
});

describe("settle", () => {
  it("releases pending lots whose window ended: balance up, pending down, no entry", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("s-pend", 70, T0, { pending: true, availableAt: T0 + DAY })));
    await run(writer(member, T0 + DAY - 1).settle({ releaseDue: true, expireDue: false }));
    expect(await account(member)).toMatchObject({ balance: 0, pending: 70 });
    await run(writer(member, T0 + DAY).settle({ releaseDue: true, expireDue: false }));
    expect(await account(member)).toMatchObject({ balance: 70, pending: 0, next_release_at: null });
    expect(await lot("s-pend")).toMatchObject({ pending: 0, remaining: 70 });
    expect(await entries(member)).toHaveLength(1);
  });

  it("a release repays debt first", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("sr-a", 20)));
    await run(writer(member).spend({ entryId: "sr-s", type: "redeem", points: 20, moveId: "sr-r1" }));
    await run(writer(member).reverse({ entryId: "sr-rev", points: 20, orderId: "o", ownLotId: "sr-a", refundId: "rf" }));
    await run(writer(member).credit(earn("sr-pend", 50, T0, { pending: true, availableAt: T0 + DAY })));
    await run(writer(member, T0 + DAY).settle({ releaseDue: true, expireDue: false }));
    expect(await account(member)).toMatchObject({ balance: 30, pending: 0 });
    expect((await lot("sr-pend")).remaining).toBe(30);
    expect(await payers(member)).toEqual({ "sr-pend": 20 });
  });

  it("expires the unspent remainder of lots past their date, one expire entry each", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("e-a", 100, T0, { expiresAt: T0 + DAY })));
    await run(writer(member).credit(earn("e-b", 50)));
    await run(writer(member).spend({ entryId: "e-s", type: "redeem", points: 30, moveId: "e-r1" }));
    await run(writer(member, T0 + DAY).settle({ releaseDue: false, expireDue: true }));
    expect(await lot("e-a")).toMatchObject({ remaining: 0, expired: 70 });
    expect(await lot("e-b")).toMatchObject({ remaining: 50, expired: 0 });
    expect(await account(member)).toMatchObject({ balance: 50, entry_seq: 4 });
    const last = (await entries(member)).at(-1);
    expect(last).toMatchObject({ type: "expire", points: -70, balance_after: 50, seq: 4, lot_id: "e-a", reason: "expired" });
  });

  it("after the inactivity deadline expires every lot, unless the member was active since", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("i-a", 100)));
    await run(writer(member).credit(earn("i-b", 40, T0, { pending: true, availableAt: T0 + 30 * DAY })));
    // Activity moved on since T0: nothing expires.
    await run(writer(member, T0 + 40 * DAY).settle({ releaseDue: false, expireDue: false, inactiveSince: T0 - 1 }));
    expect(await account(member)).toMatchObject({ balance: 100, pending: 40 });
    await run(writer(member, T0 + 40 * DAY).settle({ releaseDue: false, expireDue: false, inactiveSince: T0 }));
    expect(await account(member)).toMatchObject({ balance: 0, pending: 0, entry_seq: 4 });
    const expired = (await entries(member)).filter((e) => e.type === "expire");
    expect(expired.map((e) => [e.points, e.reason]).sort()).toEqual([
      [-100, "inactivity"],
      [-40, "inactivity"],
    ]);
  });

  it("releases holds past their time as `release` and marks them released; a second release aborts", async () => {
    const member = await newMember();
    await run(writer(member).credit(earn("dh-a", 100)));
    await holdRow("dh-1", member, 40);
    await run(
      writer(member).spend({ entryId: "dh-hold", type: "hold", points: 40, moveId: "dh-1", refs: { redemptionId: "dh-1" } }),
    );
    const due = { id: "dh-1", points: 40, orderId: null };
    await run(writer(member, T0 + 16 * MINUTE).settle({ releaseDue: false, expireDue: false, dueHolds: [due] }));
    expect(await account(member)).toMatchObject({ balance: 100, held: 0, lifetime_redeemed: 0 });
    expect((await lot("dh-a")).remaining).toBe(100);
    const status = await env.DB.prepare(`SELECT status FROM redemptions WHERE id = 'dh-1'`).first<{ status: string }>();
    expect(status?.status).toBe("released");
    expect((await shape(member)).at(-1)).toEqual(["release", 40, 100, 3]);
    const again = writer(member, T0 + 17 * MINUTE).settle({ releaseDue: false, expireDue: false, dueHolds: [due] });
    await expect(env.DB.batch(again.statements)).rejects.toThrow(/conflict/);
    await checkMemberInvariants(MERCHANT, member);
  });
});
