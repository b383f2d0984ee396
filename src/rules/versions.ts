/** Rule versions as the API shows them: pure rendering of rule_versions rows. */
import type { ruleVersions } from "../db/schema";
import { toIso } from "../platform/clock";
import type { RuleBody } from "./schemas";

/** What rule_versions.body holds: the definition, and the rule's createdAt in ms. */
type StoredVersion = Omit<RuleBody, "version" | "createdAt" | "updatedAt"> & { createdAt: number };

type VersionRow = typeof ruleVersions.$inferSelect;

/**
 * A stored version: the rule's definition at that version, its createdAt (ms, added when stored) and the
 * version's own time as the rule's updatedAt.
 */
export function versionBody(row: VersionRow) {
  const { createdAt, ...definition } = JSON.parse(row.body) as StoredVersion;
  const at = toIso(row.createdAt);
  return {
    version: row.version,
    rule: { ...definition, version: row.version, createdAt: toIso(createdAt), updatedAt: at },
    createdAt: at,
  };
}
