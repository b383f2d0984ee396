/** Perk definitions as stored (one row each, the unlock conditions as JSON) and as replied. */
import type { PerkDef, PerkUnlock } from "./unlock";

export interface PerkRow {
  id: string;
  name: string;
  value: number;
  unlock: string;
  quotaUses: number | null;
  quotaPer: "month" | "year" | null;
  lapseAfterDays: number | null;
}

export function perkFromRow(row: PerkRow): PerkDef {
  return {
    id: row.id,
    name: row.name,
    value: row.value,
    unlock: JSON.parse(row.unlock) as PerkUnlock,
    quota: row.quotaUses !== null && row.quotaPer !== null ? { uses: row.quotaUses, per: row.quotaPer } : null,
    lapseAfterInactiveDays: row.lapseAfterDays,
  };
}

export function perkBody(perk: PerkDef) {
  return {
    id: perk.id,
    name: perk.name,
    value: perk.value,
    unlock: perk.unlock,
    quota: perk.quota,
    lapseAfterInactiveDays: perk.lapseAfterInactiveDays,
  };
}
