CREATE TABLE `member_stamps` (
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`card_id` text NOT NULL,
	`stamps` integer NOT NULL,
	`completed` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `member_id`, `card_id`)
);
--> statement-breakpoint
CREATE TABLE `rule_usage` (
	`merchant_id` text NOT NULL,
	`rule_id` text NOT NULL,
	`member_id` text NOT NULL,
	`period` text NOT NULL,
	`points` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `rule_id`, `member_id`, `period`)
);
--> statement-breakpoint
CREATE INDEX `rule_usage_member` ON `rule_usage` (`merchant_id`,`member_id`,`period`);--> statement-breakpoint
CREATE TABLE `rule_versions` (
	`merchant_id` text NOT NULL,
	`rule_id` text NOT NULL,
	`version` integer NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `rule_id`, `version`)
);
--> statement-breakpoint
CREATE TABLE `stamp_cards` (
	`merchant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`active` integer NOT NULL,
	`counts` text NOT NULL,
	`match` text,
	`stamps` integer NOT NULL,
	`reward` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `vouchers` (
	`code` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`member_id` text NOT NULL,
	`card_id` text NOT NULL,
	`name` text NOT NULL,
	`value` integer NOT NULL,
	`order_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`redeemed_at` integer
);
--> statement-breakpoint
CREATE INDEX `vouchers_member` ON `vouchers` (`merchant_id`,`member_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `ledger_entries` ADD `rule_version` integer;--> statement-breakpoint
ALTER TABLE `merchants` ADD `config_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `orders` ADD `rule_usage` text;--> statement-breakpoint
CREATE INDEX `orders_occurred` ON `orders` (`merchant_id`,`occurred_at`,`id`);--> statement-breakpoint
ALTER TABLE `programs` ADD `earn_on_points_paid` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `rules` ADD `exclusive` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `rules` ADD `limits` text;--> statement-breakpoint
ALTER TABLE `rules` ADD `version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE INDEX `redemptions_order` ON `redemptions` (`merchant_id`,`order_id`) WHERE order_id IS NOT NULL;--> statement-breakpoint
-- Hand-written: rules made before versions existed get their version 1 recorded, as rule_versions keeps bodies.
INSERT INTO `rule_versions` (`merchant_id`, `rule_id`, `version`, `body`, `created_at`)
SELECT `merchant_id`, `id`, 1, json_object('id', `id`, 'name', `name`, 'active', json(CASE WHEN `active` THEN 'true' ELSE 'false' END),
  'priority', `priority`,
  'startsAt', CASE WHEN `starts_at` IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', `starts_at` / 1000.0, 'unixepoch') END,
  'endsAt', CASE WHEN `ends_at` IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', `ends_at` / 1000.0, 'unixepoch') END,
  'conditions', json(`conditions`), 'effect', json(`effect`), 'exclusive', json('false'), 'limits', NULL,
  'createdAt', `created_at`), `updated_at`
FROM `rules`;
