/**
 * What each unit of an order's items was paid, pure. The order amount is what the member paid; the items'
 * list prices (quantity x unitPrice) may add up to more (a discount) or less (shipping, fees). Each unit's
 * share is the amount spread by list price, in whole minor units by largest remainder: every unit first
 * gets floor(amount x unitPrice / listTotal), then the units with the largest remainders get one more
 * (ties: the earlier line first), so the shares of all units add up to the amount exactly. Units of one
 * line have the same exact share, so a line is apportioned as a whole, never unit by unit (a line may hold
 * a million units). When nothing is listed at a price (list total 0) the amount is spread evenly over the
 * units. BigInt throughout: amount x unitPrice and the list total may pass 2^53.
 */
import { mulDiv } from "../platform/math";

export interface PricedLine {
  quantity: number;
  unitPrice: number;
}

export interface LineShare {
  /** What all units of the line were paid: quantity x unitShare + extraUnits. */
  share: number;
  /** What each unit was paid at least. */
  unitShare: number;
  /** How many of the line's units were paid one more unit than unitShare (0..quantity). */
  extraUnits: number;
}

/**
 * @example apportionAmount(10000, [{ quantity: 1, unitPrice: 10000 }, { quantity: 1, unitPrice: 10000 }])
 * // [{ share: 5000, unitShare: 5000, extraUnits: 0 }, { share: 5000, unitShare: 5000, extraUnits: 0 }]
 */
export function apportionAmount(amount: number, lines: readonly PricedLine[]): LineShare[] {
  const listTotal = lines.reduce((sum, l) => sum + BigInt(l.quantity) * BigInt(l.unitPrice), 0n);
  const weight = (l: PricedLine) => (listTotal > 0n ? BigInt(l.unitPrice) : 1n);
  const total = listTotal > 0n ? listTotal : lines.reduce((sum, l) => sum + BigInt(l.quantity), 0n);
  if (total === 0n) return [];
  const paid = BigInt(amount);
  const exact = lines.map((l) => ({ floor: (paid * weight(l)) / total, remainder: (paid * weight(l)) % total }));
  let left = lines.reduce((rest, l, i) => rest - BigInt(l.quantity) * exact[i]!.floor, paid);
  // Largest remainder first; equal remainders in line order, so the result depends only on the order's data.
  const byRemainder = lines
    .map((_, i) => i)
    .sort((a, b) => {
      const ra = exact[a]!.remainder;
      const rb = exact[b]!.remainder;
      return ra > rb ? -1 : ra < rb ? 1 : a - b;
    });
  const extra = lines.map(() => 0n);
  for (const i of byRemainder) {
    if (left === 0n) break;
    const units = BigInt(lines[i]!.quantity);
    extra[i] = left < units ? left : units;
    left -= extra[i]!;
  }
  return lines.map((l, i) => ({
    share: Number(BigInt(l.quantity) * exact[i]!.floor + extra[i]!),
    unitShare: Number(exact[i]!.floor),
    extraUnits: Number(extra[i]),
  }));
}

/**
 * What units [from, to) of a line were paid, counting its units in refund order. Cumulative floors spread
 * the line's extra units evenly and make any split add up to the whole: units [0, quantity) are the share.
 *
 * @example unitsValue({ share: 10, quantity: 3 }, 0, 1) // 3; then (1, 3) is 7
 */
export function unitsValue(line: { share: number; quantity: number }, from: number, to: number): number {
  return mulDiv(line.share, to, line.quantity) - mulDiv(line.share, from, line.quantity);
}
