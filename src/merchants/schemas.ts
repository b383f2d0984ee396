import { z } from "@hono/zod-openapi";
import { KEY_SCOPES } from "../db/enums";
import { Currency, Timestamp, Timezone } from "../platform/validation";

const MAX_NAME_LENGTH = 200;
/** Longer than any key id the engine issues (key_ + a 26-character id), short enough to refuse junk. */
const MAX_KEY_ID_LENGTH = 64;

export const Scope = z.enum(KEY_SCOPES);

export const MerchantSchema = z
  .object({ id: z.string(), name: z.string(), currency: z.string(), timezone: z.string() })
  .openapi("Merchant");

export const MerchantInputSchema = z
  .strictObject({
    name: z.string().min(1).max(MAX_NAME_LENGTH).openapi({ example: "Demo Tea House" }),
    currency: Currency,
    timezone: Timezone.openapi({ example: "Asia/Shanghai" }),
  })
  .openapi("MerchantInput");

export const NewKeySchema = z
  .object({
    id: z.string(),
    scope: Scope,
    name: z.string(),
    secret: z.string().nullable().openapi({ description: "Shown once; null when the response is an idempotent replay." }),
    createdAt: Timestamp,
  })
  .openapi("NewApiKey");

export const NewMerchantSchema = z.object({ merchant: MerchantSchema, apiKey: NewKeySchema });

export const KeySchema = z
  .object({
    id: z.string(),
    scope: Scope,
    name: z.string(),
    hint: z.string(),
    createdAt: Timestamp,
    revokedAt: Timestamp.nullable(),
  })
  .openapi("ApiKey");

export const ApiKeyInputSchema = z
  .strictObject({
    scope: Scope.openapi({ example: "checkout" }),
    name: z.string().min(1).max(MAX_NAME_LENGTH).openapi({ example: "till 1" }),
  })
  .openapi("ApiKeyInput");

export const KeyParams = z.object({
  id: z
    .string()
    .min(1)
    .max(MAX_KEY_ID_LENGTH)
    .openapi({ param: { name: "id", in: "path" } }),
});

export type MerchantInput = z.infer<typeof MerchantInputSchema>;
export type ApiKeyInput = z.infer<typeof ApiKeyInputSchema>;
