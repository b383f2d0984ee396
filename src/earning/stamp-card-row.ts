/** Stamp card rows as the checkout sees them (the API body is rendered in stamps/service.ts). */
import type { StampCard } from "./stamps";

export type { StampCard } from "./stamps";

/** Most active stamp cards a merchant may have: every checkout reads them all. */
export const MAX_ACTIVE_STAMP_CARDS = 20;

export interface StampCardRow {
  id: string;
  name: string;
  counts: string;
  match: string | null;
  stamps: number;
  reward: string;
}

export function stampCardFromRow(row: StampCardRow): StampCard {
  return {
    id: row.id,
    name: row.name,
    counts: row.counts === "quantity" ? "quantity" : "orders",
    match: row.match ? (JSON.parse(row.match) as StampCard["match"]) : null,
    stamps: row.stamps,
    reward: JSON.parse(row.reward) as StampCard["reward"],
  };
}
