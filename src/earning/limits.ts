/**
 * Most active rules a merchant may have. Every checkout reads and evaluates all of them, so the bound keeps
 * its cost fixed; creating or activating a rule beyond it is refused (422).
 */
export const MAX_ACTIVE_RULES = 500;
