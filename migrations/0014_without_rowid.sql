-- The tables every checkout, redemption and refund inserts into become WITHOUT ROWID: the primary key is
-- the table's own B-tree instead of a separate index beside a rowid table. Each insert then writes one
-- B-tree fewer, and each lookup by key descends one B-tree instead of two. On D1 that is fewer rows
-- written and read per request (an order: 19 -> 15 written, 13 -> 10 read), which is also what D1 bills.
-- The rows here are small and keyed by text ids, the case SQLite recommends WITHOUT ROWID for.
--
-- Each table is rebuilt as drizzle-kit rebuilds one (new table, copy, drop, rename, indexes), with the
-- columns, keys, defaults and indexes it had. drizzle's schema has no notation for WITHOUT ROWID, so a
-- later migration that rebuilds one of these tables must keep the clause: test/db/without-rowid.test.ts
-- fails if any of them loses it. Nothing may address these tables by rowid (housekeeping deletes by key).
CREATE TABLE `__new_orders` (
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
	`rule_usage` text,
	`stamps` text,
	PRIMARY KEY(`merchant_id`, `id`)
) WITHOUT ROWID;
INSERT INTO `__new_orders` (`merchant_id`, `id`, `member_id`, `amount`, `currency`, `occurred_at`, `channel`, `items`, `points_earned`, `awards`, `lot_id`, `refunded_amount`, `points_reversed`, `expired_excused`, `refunded_items`, `created_at`, `rule_usage`, `stamps`)
  SELECT `merchant_id`, `id`, `member_id`, `amount`, `currency`, `occurred_at`, `channel`, `items`, `points_earned`, `awards`, `lot_id`, `refunded_amount`, `points_reversed`, `expired_excused`, `refunded_items`, `created_at`, `rule_usage`, `stamps` FROM `orders`;
DROP TABLE `orders`;
ALTER TABLE `__new_orders` RENAME TO `orders`;
CREATE INDEX `orders_member` ON `orders` (`merchant_id`,`member_id`,`occurred_at`);
CREATE INDEX `orders_occurred` ON `orders` (`merchant_id`,`occurred_at`,`id`);

CREATE TABLE `__new_refunds` (
	`merchant_id` text NOT NULL,
	`order_id` text NOT NULL,
	`id` text NOT NULL,
	`member_id` text NOT NULL,
	`amount` integer NOT NULL,
	`items` text,
	`points_reversed` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `order_id`, `id`)
) WITHOUT ROWID;
INSERT INTO `__new_refunds` (`merchant_id`, `order_id`, `id`, `member_id`, `amount`, `items`, `points_reversed`, `created_at`)
  SELECT `merchant_id`, `order_id`, `id`, `member_id`, `amount`, `items`, `points_reversed`, `created_at` FROM `refunds`;
DROP TABLE `refunds`;
ALTER TABLE `__new_refunds` RENAME TO `refunds`;
CREATE INDEX `refunds_member` ON `refunds` (`merchant_id`,`member_id`);

CREATE TABLE `__new_redemptions` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`points` integer NOT NULL,
	`value` integer NOT NULL,
	`status` text NOT NULL,
	`order_id` text,
	`hold_expires_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`asset` text DEFAULT 'points' NOT NULL
) WITHOUT ROWID;
INSERT INTO `__new_redemptions` (`id`, `merchant_id`, `member_id`, `points`, `value`, `status`, `order_id`, `hold_expires_at`, `created_at`, `updated_at`, `asset`)
  SELECT `id`, `merchant_id`, `member_id`, `points`, `value`, `status`, `order_id`, `hold_expires_at`, `created_at`, `updated_at`, `asset` FROM `redemptions`;
DROP TABLE `redemptions`;
ALTER TABLE `__new_redemptions` RENAME TO `redemptions`;
CREATE INDEX `redemptions_member` ON `redemptions` (`merchant_id`,`member_id`);
CREATE INDEX `redemptions_hold_due` ON `redemptions` (`hold_expires_at`) WHERE status = 'held';
CREATE INDEX `redemptions_member_holds` ON `redemptions` (`merchant_id`,`member_id`,`hold_expires_at`) WHERE status = 'held';
CREATE INDEX `redemptions_order` ON `redemptions` (`merchant_id`,`order_id`) WHERE order_id IS NOT NULL;

CREATE TABLE `__new_point_lots` (
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
	`expire_key` integer NOT NULL,
	`owed` integer DEFAULT 0 NOT NULL
) WITHOUT ROWID;
INSERT INTO `__new_point_lots` (`id`, `merchant_id`, `member_id`, `entry_id`, `order_id`, `points`, `remaining`, `expired`, `is_pending`, `created_at`, `available_at`, `expires_at`, `expire_key`, `owed`)
  SELECT `id`, `merchant_id`, `member_id`, `entry_id`, `order_id`, `points`, `remaining`, `expired`, `is_pending`, `created_at`, `available_at`, `expires_at`, `expire_key`, `owed` FROM `point_lots`;
DROP TABLE `point_lots`;
ALTER TABLE `__new_point_lots` RENAME TO `point_lots`;
CREATE INDEX `lots_open_by_expiry` ON `point_lots` (`merchant_id`,`member_id`,`expire_key`,`id`) WHERE remaining > 0 AND is_pending = 0;
CREATE INDEX `lots_pending_due` ON `point_lots` (`available_at`) WHERE is_pending = 1;
CREATE INDEX `lots_member_pending` ON `point_lots` (`merchant_id`,`member_id`,`available_at`) WHERE is_pending = 1;
CREATE INDEX `lots_expiring` ON `point_lots` (`expire_key`) WHERE remaining > 0 AND expires_at IS NOT NULL;

CREATE TABLE `__new_lot_moves` (
	`move_id` text NOT NULL,
	`lot_id` text NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`points` integer NOT NULL,
	`undone` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`move_id`, `lot_id`)
) WITHOUT ROWID;
INSERT INTO `__new_lot_moves` (`move_id`, `lot_id`, `merchant_id`, `member_id`, `points`, `undone`)
  SELECT `move_id`, `lot_id`, `merchant_id`, `member_id`, `points`, `undone` FROM `lot_moves`;
DROP TABLE `lot_moves`;
ALTER TABLE `__new_lot_moves` RENAME TO `lot_moves`;

CREATE TABLE `__new_ledger_entries` (
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
	`reason` text,
	`asset` text DEFAULT 'points' NOT NULL,
	`rule_version` integer
) WITHOUT ROWID;
INSERT INTO `__new_ledger_entries` (`id`, `merchant_id`, `member_id`, `seq`, `type`, `points`, `balance_after`, `created_at`, `order_id`, `rule_id`, `redemption_id`, `refund_id`, `lot_id`, `available_at`, `expires_at`, `reason`, `asset`, `rule_version`)
  SELECT `id`, `merchant_id`, `member_id`, `seq`, `type`, `points`, `balance_after`, `created_at`, `order_id`, `rule_id`, `redemption_id`, `refund_id`, `lot_id`, `available_at`, `expires_at`, `reason`, `asset`, `rule_version` FROM `ledger_entries`;
DROP TABLE `ledger_entries`;
ALTER TABLE `__new_ledger_entries` RENAME TO `ledger_entries`;
CREATE UNIQUE INDEX `ledger_member_seq` ON `ledger_entries` (`merchant_id`,`member_id`,`seq`);

CREATE TABLE `__new_member_periods` (
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`period` text NOT NULL,
	`spend` integer DEFAULT 0 NOT NULL,
	`points` integer DEFAULT 0 NOT NULL,
	`orders` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`merchant_id`, `member_id`, `period`)
) WITHOUT ROWID;
INSERT INTO `__new_member_periods` (`merchant_id`, `member_id`, `period`, `spend`, `points`, `orders`)
  SELECT `merchant_id`, `member_id`, `period`, `spend`, `points`, `orders` FROM `member_periods`;
DROP TABLE `member_periods`;
ALTER TABLE `__new_member_periods` RENAME TO `member_periods`;
CREATE INDEX `member_periods_by_period` ON `member_periods` (`merchant_id`,`period`,`member_id`);

CREATE TABLE `__new_member_stamps` (
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`card_id` text NOT NULL,
	`stamps` integer NOT NULL,
	`completed` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`debt` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`merchant_id`, `member_id`, `card_id`)
) WITHOUT ROWID;
INSERT INTO `__new_member_stamps` (`merchant_id`, `member_id`, `card_id`, `stamps`, `completed`, `updated_at`, `debt`)
  SELECT `merchant_id`, `member_id`, `card_id`, `stamps`, `completed`, `updated_at`, `debt` FROM `member_stamps`;
DROP TABLE `member_stamps`;
ALTER TABLE `__new_member_stamps` RENAME TO `member_stamps`;

CREATE TABLE `__new_rule_usage` (
	`merchant_id` text NOT NULL,
	`rule_id` text NOT NULL,
	`member_id` text NOT NULL,
	`period` text NOT NULL,
	`points` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `rule_id`, `member_id`, `period`)
) WITHOUT ROWID;
INSERT INTO `__new_rule_usage` (`merchant_id`, `rule_id`, `member_id`, `period`, `points`)
  SELECT `merchant_id`, `rule_id`, `member_id`, `period`, `points` FROM `rule_usage`;
DROP TABLE `rule_usage`;
ALTER TABLE `__new_rule_usage` RENAME TO `rule_usage`;
CREATE INDEX `rule_usage_member` ON `rule_usage` (`merchant_id`,`member_id`,`period`);

CREATE TABLE `__new_idempotency_keys` (
	`merchant_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer,
	`response` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `key`)
) WITHOUT ROWID;
INSERT INTO `__new_idempotency_keys` (`merchant_id`, `key`, `request_hash`, `status`, `response`, `created_at`)
  SELECT `merchant_id`, `key`, `request_hash`, `status`, `response`, `created_at` FROM `idempotency_keys`;
DROP TABLE `idempotency_keys`;
ALTER TABLE `__new_idempotency_keys` RENAME TO `idempotency_keys`;
CREATE INDEX `idempotency_created` ON `idempotency_keys` (`created_at`);
