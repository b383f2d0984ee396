/**
 * What the randomized suites expect of the engine, tracked beside it to compare with it: balances per
 * member, orders with what was refunded of them, redemptions with their status and hold time, and the
 * inline release of holds past their time when a read or a spend reaches the member. Written apart from
 * src (its refund oracle included) so that it can check src.
 */

/** How long a hold reserves points (the engine's 15 minutes, restated here). */
export const HOLD_TTL_MS = 15 * 60_000;

export interface ModelOrder {
  id: string;
  member: string;
  amount: number;
  points: number;
  /** Amount refunded so far (minor units). */
  refunded: number;
  /** Refunded in full (an order of amount 0 is, after its single refund). */
  closed: boolean;
  /** What points paid of it (minor units): it earned on the rest, which refunds then count against. */
  paid: number;
}

export type RedemptionStatus = "held" | "captured" | "cancelled" | "released";

export interface ModelRedemption {
  id: string;
  member: string;
  /** Points, or credit in minor units when `asset` is credit. */
  points: number;
  asset: "points" | "credit";
  status: RedemptionStatus;
  /** Model clock when the hold (or capture) was made. */
  heldAt: number;
}

/**
 * Points a refund of `refund` reverses, after `refundedBefore` of `amount` was refunded:
 * floor(P*(R+r)/A) - floor(P*R/A) in exact big integers, so any split of partial refunds reverses exactly
 * what one full refund would. An order of amount 0 reverses all its points on its single full refund.
 */
export function expectedReversal(
  order: Pick<ModelOrder, "points" | "amount" | "refunded" | "closed"> & { paid?: number },
  refund: number,
): number {
  if (order.amount === 0) return order.closed ? 0 : order.points;
  // Partly paid with points, the order earned on its money part: refunds count up to that part.
  const earning = order.amount - Math.min(order.paid ?? 0, order.amount);
  const base = earning > 0 ? earning : order.amount;
  const upTo = (refunded: number) => BigInt(Math.min(refunded, base));
  const p = BigInt(order.points);
  const a = BigInt(base);
  return Number((p * upTo(order.refunded + refund)) / a - (p * upTo(order.refunded)) / a);
}

export class LedgerModel {
  readonly orders: ModelOrder[] = [];
  readonly redemptions: ModelRedemption[] = [];
  private readonly balances = new Map<string, number>();
  /** Store credit per member (minor units): the ledger's second asset. */
  private readonly credits = new Map<string, number>();
  private readonly enrolled = new Set<string>();
  /** Milliseconds the engine's clock was moved since the run started. */
  clock = 0;

  constructor(readonly members: readonly string[]) {
    for (const id of members) this.balances.set(id, 0);
  }

  balance(member: string): number {
    return this.balances.get(member) ?? 0;
  }

  credit(member: string): number {
    return this.credits.get(member) ?? 0;
  }

  /** Credit a rebate paid (the member's whole period pool, when it alone shared). */
  addCredit(member: string, amount: number): void {
    this.credits.set(member, this.credit(member) + amount);
  }

  /** What a credit spend can use: the credit plus credit holds it will release first. */
  canSpendCredit(member: string, amount: number): boolean {
    const due = this.dueHolds(member).filter((r) => r.asset === "credit");
    return this.credit(member) + due.reduce((sum, r) => sum + r.points, 0) >= amount;
  }

  isEnrolled(member: string): boolean {
    return this.enrolled.has(member);
  }

  advance(ms: number): void {
    this.clock += ms;
  }

  /** An order posted now (`paid`: what points paid of it): enrols the member and credits its points. */
  order(id: string, member: string, amount: number, points: number, paid = 0): ModelOrder {
    const order: ModelOrder = { id, member, amount, points, refunded: 0, closed: false, paid };
    this.orders.push(order);
    this.enrolled.add(member);
    this.add(member, points);
    return order;
  }

  /** Amount still refundable (an order of amount 0 has none to refund in parts). */
  refundable(order: ModelOrder): number {
    return order.amount - order.refunded;
  }

  /** A refund the engine accepted: settles the member's due holds, then reverses the oracle's share. */
  refund(order: ModelOrder, amount: number): number {
    if (order.closed || amount > this.refundable(order)) throw new Error(`model: refund of ${amount} on ${order.id} is refused`);
    this.releaseDue(order.member);
    const reversed = expectedReversal(order, amount);
    order.refunded += amount;
    order.closed = order.refunded === order.amount;
    this.add(order.member, -reversed);
    return reversed;
  }

  /** Holds of `member` (of every member, without one) past their time. */
  dueHolds(member?: string): ModelRedemption[] {
    return this.redemptions.filter(
      (r) => (member === undefined || r.member === member) && r.status === "held" && this.clock - r.heldAt >= HOLD_TTL_MS,
    );
  }

  /** Releases holds past their time, as a read, a spend or the hold-release job does. */
  releaseDue(member?: string): void {
    for (const red of this.dueHolds(member)) this.release(red);
  }

  /** What a spend can use: the balance plus points holds it will release first. */
  spendable(member: string): number {
    const due = this.dueHolds(member).filter((r) => r.asset === "points");
    return this.balance(member) + due.reduce((sum, r) => sum + r.points, 0);
  }

  canSpend(member: string, points: number): boolean {
    return this.spendable(member) >= points;
  }

  /** A redemption the engine accepted (captured at once, or held). */
  redeem(id: string, member: string, points: number, hold: boolean, asset: "points" | "credit" = "points"): ModelRedemption {
    const can = asset === "credit" ? this.canSpendCredit(member, points) : this.canSpend(member, points);
    if (!can) throw new Error(`model: ${member} cannot spend ${points} ${asset}`);
    this.releaseDue(member);
    const red: ModelRedemption = { id, member, points, asset, status: hold ? "held" : "captured", heldAt: this.clock };
    this.redemptions.push(red);
    this.move(red, -points);
    return red;
  }

  /** A goodwill adjustment the engine accepted (a negative one only when the member can pay it). */
  adjust(member: string, points: number): void {
    if (points < 0 && !this.canSpend(member, -points)) throw new Error(`model: ${member} cannot pay ${-points}`);
    this.releaseDue(member);
    this.add(member, points);
  }

  /** Whether a capture succeeds: a hold still within its time. */
  canCapture(red: ModelRedemption): boolean {
    return red.status === "held" && this.clock - red.heldAt < HOLD_TTL_MS;
  }

  /** Whether a cancel succeeds: a hold or a captured redemption. */
  canCancel(red: ModelRedemption): boolean {
    return red.status === "held" || red.status === "captured";
  }

  /** A capture attempt: succeeds within the hold's time; a hold past it is released there and then. */
  capture(red: ModelRedemption): boolean {
    if (this.canCapture(red)) {
      red.status = "captured";
      return true;
    }
    if (red.status === "held") this.release(red);
    return false;
  }

  /** A cancel attempt: the points come back. */
  cancel(red: ModelRedemption): boolean {
    if (!this.canCancel(red)) return false;
    red.status = "cancelled";
    this.move(red, red.points);
    return true;
  }

  private release(red: ModelRedemption): void {
    red.status = "released";
    this.move(red, red.points);
  }

  /** Moves a redemption's own asset. */
  private move(red: ModelRedemption, amount: number): void {
    if (red.asset === "credit") this.addCredit(red.member, amount);
    else this.add(red.member, amount);
  }

  private add(member: string, points: number): void {
    this.balances.set(member, this.balance(member) + points);
  }
}
