/**
 * floor(a * b / c) for non-negative integers, exact even when a * b passes 2^53.
 *
 * @example mulDiv(12800, 1, 100) // 128
 */
export function mulDiv(a: number, b: number, c: number): number {
  const product = a * b;
  if (Number.isSafeInteger(product) && Number.isSafeInteger(c)) return Math.floor(product / c);
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}
