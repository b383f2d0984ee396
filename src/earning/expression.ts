/**
 * CEL conditions (`conditions.expression`), with @marcbachmann/cel-js: a tree-walking interpreter, so it
 * runs in workerd, which forbids generating code from strings. An expression sees `order` (amount,
 * currency, channel, items[] with sku, category, quantity, unitPrice) and `member` (attributes, tier,
 * orderCount) and must be boolean.
 *
 * Cost is bounded before a rule is saved, so no rule can stall checkout: the text is at most
 * MAX_EXPRESSION_LENGTH characters, MAX_AST_NODES nodes and MAX_AST_DEPTH levels; list macros (all,
 * exists, exists_one, map, filter) may not nest, so each walks an order's items (at most 500) once; regular
 * expressions (`matches`) are refused, as their cost depends on the pattern.
 */
import { type ASTNode, Environment } from "@marcbachmann/cel-js";
import type { MemberFacts, OrderFacts } from "./types";

export const MAX_EXPRESSION_LENGTH = 1000;
export const MAX_AST_NODES = 200;
export const MAX_AST_DEPTH = 24;
const LIST_MACROS = new Set(["all", "exists", "exists_one", "map", "filter"]);
const REFUSED_FUNCTIONS = new Set(["matches"]);

/**
 * The activation's order and member are instances of the registered types: cel-js takes them as they are,
 * where a plain object would be wrapped anew on every run of every expression. Items stay plain objects
 * (wrapped as a list macro visits them), so what an expression sees is unchanged.
 */
class CelOrder {
  constructor(
    readonly amount: bigint,
    readonly currency: string,
    readonly channel: string,
    readonly items: readonly CelItem[],
  ) {}
}

class CelMember {
  constructor(
    readonly attributes: unknown,
    readonly tier: string,
    readonly orderCount: bigint,
  ) {}
}

interface CelItem {
  sku: string;
  category: string;
  quantity: bigint;
  unitPrice: bigint;
}

const environment = new Environment({
  limits: { maxAstNodes: MAX_AST_NODES, maxDepth: MAX_AST_DEPTH, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
})
  .registerType("Item", { fields: { sku: "string", category: "string", quantity: "int", unitPrice: "int" } })
  .registerType("Order", {
    ctor: CelOrder,
    fields: { amount: "int", currency: "string", channel: "string", items: "list<Item>" },
  })
  .registerType("Member", { ctor: CelMember, fields: { attributes: "map<string, dyn>", tier: "string", orderCount: "int" } })
  .registerVariable("order", "Order")
  .registerVariable("member", "Member");

type Program = ReturnType<typeof environment.parse>;
export type Compiled = { ok: true; program: Program } | { ok: false; message: string };

function children(node: ASTNode): ASTNode[] {
  switch (node.op) {
    case "value":
    case "id":
      return [];
    case ".":
    case ".?":
      return [node.args[0]];
    case "call":
      return node.args[1];
    case "rcall":
      return [node.args[1], ...node.args[2]];
    case "map":
      return node.args.flat();
    case "!_":
    case "-_":
      return [node.args];
    default:
      return node.args as ASTNode[];
  }
}

/** The first construct whose cost is not bounded: a nested list macro or a refused function. */
function unboundedAt(node: ASTNode, insideMacro: boolean): { pos: number; message: string } | null {
  const name = node.op === "rcall" || node.op === "call" ? node.args[0] : null;
  if (name !== null && REFUSED_FUNCTIONS.has(name)) return { pos: node.pos, message: `${name}() is not allowed` };
  const macro = node.op === "rcall" && LIST_MACROS.has(node.args[0]);
  if (macro && insideMacro) return { pos: node.pos, message: `${node.args[0]}() may not be nested inside another list macro` };
  // A macro's receiver runs once before it (chaining is fine); its arguments run once per element.
  const receiver = node.op === "rcall" ? node.args[1] : null;
  for (const child of children(node)) {
    const found = unboundedAt(child, insideMacro || (macro && child !== receiver));
    if (found) return found;
  }
  return null;
}

function located(error: unknown): { pos: number; message: string } {
  const e = error as { message?: string; range?: { start: number }; node?: { pos?: number } };
  const message = (e.message ?? "is not valid").split("\n")[0] ?? "is not valid";
  return { pos: e.range?.start ?? e.node?.pos ?? 0, message };
}

/** Parses and type-checks an expression; the message names the position (0-based character offset). */
export function compileExpression(source: string): Compiled {
  if (source.length > MAX_EXPRESSION_LENGTH) return { ok: false, message: `must be at most ${MAX_EXPRESSION_LENGTH} characters` };
  let program: Program;
  try {
    program = environment.parse(source);
  } catch (error) {
    const { pos, message } = located(error);
    return { ok: false, message: `${message} at position ${pos}` };
  }
  const unbounded = unboundedAt(program.ast, false);
  if (unbounded) return { ok: false, message: `${unbounded.message} (at position ${unbounded.pos})` };
  const checked = program.check();
  if (!checked.valid) {
    const { pos, message } = located(checked.error);
    return { ok: false, message: `${message} at position ${pos}` };
  }
  if (checked.type !== "bool") return { ok: false, message: `must be boolean, but is ${checked.type} (at position 0)` };
  return { ok: true, program };
}

/** Compiled programs by source text (what a rule id and version determine), kept for the isolate's life. */
const cache = new Map<string, Program | null>();
const CACHE_LIMIT = 2000;

function programOf(source: string): Program | null {
  let program = cache.get(source);
  if (program === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    const compiled = compileExpression(source);
    program = compiled.ok ? compiled.program : null;
    cache.set(source, program);
  }
  return program;
}

/** Member fields whose value cannot move between an order's read and its write (a profile edit aside). */
const STEADY_MEMBER_FIELDS = new Set(["attributes", "tier"]);

/** Whether the tree may read `member.orderCount`: any use of `member` other than `.attributes` or `.tier`. */
function mayReadOrderCount(node: ASTNode): boolean {
  if ((node.op === "." || node.op === ".?") && node.args[0].op === "id" && node.args[0].args === "member")
    return !STEADY_MEMBER_FIELDS.has(node.args[1]);
  if (node.op === "id") return node.args === "member";
  return children(node).some(mayReadOrderCount);
}

/**
 * Whether an expression's result can depend on the member's order count, which concurrent orders of the
 * member move: such a rule makes every order re-check the count it was planned on (order-plan.ts), as a
 * firstOrder condition does for the first order. An expression that does not compile never holds: false.
 */
export function readsOrderCount(source: string): boolean {
  const program = programOf(source);
  return program !== null && mayReadOrderCount(program.ast);
}

/** JSON values as CEL sees them: whole numbers as ints, so `member.attributes.visits > 2` compares. */
function celValue(value: unknown): unknown {
  if (typeof value === "number") return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(celValue);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = Object.create(null);
    for (const [key, v] of Object.entries(value)) out[key] = celValue(v);
    return out;
  }
  return value;
}

export interface ExpressionContext {
  order: CelOrder;
  member: CelMember;
}

/** The variables an expression sees; built once per order. */
export function expressionContext(order: OrderFacts, member: MemberFacts): ExpressionContext {
  const items = (order.items ?? []).map(
    (i): CelItem => ({ sku: i.sku, category: i.category ?? "", quantity: BigInt(i.quantity), unitPrice: BigInt(i.unitPrice) }),
  );
  return {
    order: new CelOrder(BigInt(order.amount), order.currency ?? "", order.channel ?? "", items),
    member: new CelMember(celValue(member.attributes ?? {}), member.tierId ?? "", BigInt(member.previousOrders)),
  };
}

/** A compiled condition: true only when the expression evaluates to true. */
export type ExpressionTest = (context: ExpressionContext) => boolean;

const neverHolds: ExpressionTest = () => false;

/** The test of an expression, compiled once (rule-set.ts); an expression that does not compile never holds. */
export function expressionTest(source: string): ExpressionTest {
  const program = programOf(source);
  if (!program) return neverHolds;
  return (context) => {
    try {
      return program(context) === true;
    } catch {
      // An error at run time (a missing attribute) is false.
      return false;
    }
  };
}

/** true only when the expression evaluates to true; an error at run time (a missing attribute) is false. */
export function expressionHolds(source: string, context: ExpressionContext): boolean {
  return expressionTest(source)(context);
}
