/**
 * The replay's cursor: where the next call resumes, the budgets as they stand there (replay.ts), and a digest
 * of the replay it belongs to, so a cursor sent with other drafts, another range or after the live rules
 * changed is refused instead of mixing two replays. Opaque to clients (base64url of JSON); anything that does
 * not decode, match the digest or fit the rules' budgets is a 400 naming `cursor`, never a 500.
 */
import type { RuleSet } from "../earning/rule-set";
import type { Rule } from "../earning/types";
import { sha256Hex } from "../platform/crypto";
import { ApiError } from "../platform/errors";
import { encodeCursor } from "../platform/pagination";
import type { BudgetState, ReplayPosition } from "./replay";
import type { ReplayInput } from "./schemas";

const FORMAT = 1;

/** What a cursor holds: budgets used and not spent as [ruleId, used]; spent ones as [ruleId, occurredAt, orderId, took]. */
interface CursorBody {
  v: typeof FORMAT;
  digest: string;
  at: ReplayPosition;
  used: [string, number][];
  spent: [string, number, string, number][];
}

/**
 * What a replay's pages must share: the request but its cursor, the merchant's time zone (period keys) and,
 * unless onlyDrafts, the live rules' versions. 128 bits: collisions are out of reach by accident.
 */
export async function replayDigest(input: ReplayInput, live: readonly Rule[], timezone: string): Promise<string> {
  const { cursor: _cursor, ...request } = input;
  const onlyDrafts = input.onlyDrafts ?? false;
  const versions = onlyDrafts ? [] : live.map((rule) => [rule.id, rule.version ?? null]);
  // Parsed by zod, the drafts list their fields in the schema's order whatever order the client sent them in.
  return (await sha256Hex(JSON.stringify([FORMAT, { ...request, onlyDrafts }, versions, timezone]))).slice(0, 32);
}

export function encodeReplayCursor(digest: string, at: ReplayPosition, budgets: BudgetState): string {
  const spentIds = new Set(budgets.spent.keys());
  const body: CursorBody = {
    v: FORMAT,
    digest,
    at,
    used: [...budgets.used].filter(([ruleId]) => !spentIds.has(ruleId)),
    spent: [...budgets.spent].map(([ruleId, s]) => [ruleId, s.at[0], s.at[1], s.took]),
  };
  return encodeCursor(body);
}

const invalid = (message: string) => new ApiError("invalid_request", "The cursor is not valid.", [{ path: "cursor", message }]);

/**
 * The position and budgets a cursor carries, checked against this replay's digest, range [from, to) and
 * rules. The digest ties a cursor to its request, not to the server: a position outside the range is refused
 * here, as nothing later can read it as a date.
 */
export function decodeReplayCursor(
  cursor: string,
  digest: string,
  range: { from: number; to: number },
  rules: RuleSet,
): { at: ReplayPosition; budgets: BudgetState } {
  const body = parseBody(cursor);
  if (body.digest !== digest)
    throw invalid(
      "belongs to another replay: send the rules, from, to and onlyDrafts of the call that returned it " +
        "(or the live rules changed since; start again without a cursor)",
    );
  if (body.at[0] < range.from || body.at[0] >= range.to) throw invalid("points outside the replay's range");
  const budgetOf = budgetsOf(rules);
  const budgets: BudgetState = { used: new Map(), spent: new Map() };
  for (const [ruleId, occurredAt, orderId, took] of body.spent) {
    const budget = budgetOf.get(ruleId);
    if (budget === undefined || took > budget || budgets.spent.has(ruleId)) throw invalid("does not fit the rules' budgets");
    budgets.spent.set(ruleId, { at: [occurredAt, orderId], took });
    budgets.used.set(ruleId, budget);
  }
  for (const [ruleId, used] of body.used) {
    const budget = budgetOf.get(ruleId);
    if (budget === undefined || used >= budget || budgets.used.has(ruleId)) throw invalid("does not fit the rules' budgets");
    budgets.used.set(ruleId, used);
  }
  return { at: body.at, budgets };
}

/** Each budgeted rule's budget, by id. */
function budgetsOf(rules: RuleSet): Map<string, number> {
  const budgets = new Map<string, number>();
  for (const rule of rules.rules) if (rule.limits?.budget !== undefined) budgets.set(rule.id, rule.limits.budget);
  return budgets;
}

function parseBody(cursor: string): CursorBody {
  let value: unknown;
  try {
    value = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    throw invalid("is not a cursor this endpoint returned");
  }
  if (!isCursorBody(value)) throw invalid("is not a cursor this endpoint returned");
  return value;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isPosition = (v: unknown): v is ReplayPosition =>
  Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string";
const isUsed = (v: unknown) => Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && isCount(v[1]);
const isSpent = (v: unknown) =>
  Array.isArray(v) && v.length === 4 && typeof v[0] === "string" && isPosition([v[1], v[2]]) && isCount(v[3]) && v[3] > 0;

function isCursorBody(v: unknown): v is CursorBody {
  if (typeof v !== "object" || v === null) return false;
  const body = v as Record<string, unknown>;
  return (
    body.v === FORMAT &&
    typeof body.digest === "string" &&
    isPosition(body.at) &&
    Array.isArray(body.used) &&
    body.used.every(isUsed) &&
    Array.isArray(body.spent) &&
    body.spent.every(isSpent)
  );
}
