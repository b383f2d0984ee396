CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`scope` text NOT NULL,
	`name` text NOT NULL,
	`secret_hash` text NOT NULL,
	`hint` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_secret_hash` ON `api_keys` (`secret_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_merchant` ON `api_keys` (`merchant_id`,`id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`merchant_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer,
	`response` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_created` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `job_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`job` text NOT NULL,
	`merchant_id` text,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`processed` integer DEFAULT 0 NOT NULL,
	`chunks` integer DEFAULT 0 NOT NULL,
	`more` integer DEFAULT false NOT NULL,
	`errors` text
);
--> statement-breakpoint
CREATE INDEX `job_runs_merchant` ON `job_runs` (`merchant_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `job_runs_started` ON `job_runs` (`started_at`);--> statement-breakpoint
CREATE TABLE `ledger_entries` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`points` integer NOT NULL,
	`balance_after` integer NOT NULL,
	`created_at` integer NOT NULL,
	`order_id` text,
	`rule_id` text,
	`redemption_id` text,
	`refund_id` text,
	`lot_id` text,
	`available_at` integer,
	`expires_at` integer,
	`reason` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_member_seq` ON `ledger_entries` (`merchant_id`,`member_id`,`seq`);--> statement-breakpoint
CREATE TABLE `lot_moves` (
	`move_id` text NOT NULL,
	`lot_id` text NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`points` integer NOT NULL,
	PRIMARY KEY(`move_id`, `lot_id`)
);
--> statement-breakpoint
CREATE TABLE `member_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `member_tokens_expiry` ON `member_tokens` (`expires_at`);--> statement-breakpoint
CREATE TABLE `members` (
	`merchant_id` text NOT NULL,
	`id` text NOT NULL,
	`email` text,
	`name` text,
	`birthday` text,
	`attributes` text,
	`enrolled_at` integer NOT NULL,
	`last_order_at` integer,
	`erased_at` integer,
	`tier_id` text,
	`balance` integer DEFAULT 0 NOT NULL,
	`pending` integer DEFAULT 0 NOT NULL,
	`held` integer DEFAULT 0 NOT NULL,
	`credit` integer DEFAULT 0 NOT NULL,
	`lifetime_earned` integer DEFAULT 0 NOT NULL,
	`lifetime_redeemed` integer DEFAULT 0 NOT NULL,
	`order_count` integer DEFAULT 0 NOT NULL,
	`entry_seq` integer DEFAULT 0 NOT NULL,
	`next_release_at` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `merchants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`currency` text NOT NULL,
	`timezone` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `orders` (
	`merchant_id` text NOT NULL,
	`id` text NOT NULL,
	`member_id` text NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`channel` text,
	`items` text,
	`points_earned` integer NOT NULL,
	`awards` text NOT NULL,
	`lot_id` text,
	`refunded_amount` integer DEFAULT 0 NOT NULL,
	`points_reversed` integer DEFAULT 0 NOT NULL,
	`expired_excused` integer DEFAULT 0 NOT NULL,
	`refunded_items` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `orders_member` ON `orders` (`merchant_id`,`member_id`,`occurred_at`);--> statement-breakpoint
CREATE TABLE `point_lots` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`entry_id` text NOT NULL,
	`order_id` text,
	`points` integer NOT NULL,
	`remaining` integer NOT NULL,
	`expired` integer DEFAULT 0 NOT NULL,
	`is_pending` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`available_at` integer NOT NULL,
	`expires_at` integer,
	`expire_key` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `lots_open_by_expiry` ON `point_lots` (`merchant_id`,`member_id`,`expire_key`,`id`) WHERE remaining > 0 AND is_pending = 0;--> statement-breakpoint
CREATE INDEX `lots_pending_due` ON `point_lots` (`available_at`) WHERE is_pending = 1;--> statement-breakpoint
CREATE INDEX `lots_member_pending` ON `point_lots` (`merchant_id`,`member_id`,`available_at`) WHERE is_pending = 1;--> statement-breakpoint
CREATE INDEX `lots_expiring` ON `point_lots` (`expire_key`) WHERE remaining > 0 AND expires_at IS NOT NULL;--> statement-breakpoint
CREATE TABLE `programs` (
	`merchant_id` text PRIMARY KEY NOT NULL,
	`point_value_points` integer NOT NULL,
	`point_value_amount` integer NOT NULL,
	`pending_days` integer NOT NULL,
	`expiry_policy` text NOT NULL,
	`expiry_days` integer,
	`auto_enroll` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `redemptions` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`points` integer NOT NULL,
	`value` integer NOT NULL,
	`status` text NOT NULL,
	`order_id` text,
	`hold_expires_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `redemptions_member` ON `redemptions` (`merchant_id`,`member_id`);--> statement-breakpoint
CREATE INDEX `redemptions_hold_due` ON `redemptions` (`hold_expires_at`) WHERE status = 'held';--> statement-breakpoint
CREATE TABLE `refunds` (
	`merchant_id` text NOT NULL,
	`order_id` text NOT NULL,
	`id` text NOT NULL,
	`member_id` text NOT NULL,
	`amount` integer NOT NULL,
	`items` text,
	`points_reversed` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `order_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `refunds_member` ON `refunds` (`merchant_id`,`member_id`);--> statement-breakpoint
CREATE TABLE `rules` (
	`merchant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`active` integer NOT NULL,
	`priority` integer NOT NULL,
	`starts_at` integer,
	`ends_at` integer,
	`conditions` text NOT NULL,
	`effect` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `tiers` (
	`merchant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`threshold` integer NOT NULL,
	`earn_multiplier_bps` integer DEFAULT 10000 NOT NULL,
	`position` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `id`)
);
