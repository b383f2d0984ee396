-- The metric and thresholds of each ladder version, so a ladder change can honour a status that still holds:
-- a member keeps the tier its status proves it reached (its tier's threshold under the version that placed
-- it), measured by the new thresholds, until the status lapses and a review judges it (tiers/placement.ts).
-- Ladders that exist already get a row for their current version.
CREATE TABLE `tier_ladder_versions` (
	`merchant_id` text NOT NULL,
	`version` integer NOT NULL,
	`metric` text NOT NULL,
	`thresholds` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `version`)
);
--> statement-breakpoint
INSERT INTO `tier_ladder_versions` (`merchant_id`, `version`, `metric`, `thresholds`, `created_at`)
SELECT l.`merchant_id`, l.`version`, l.`metric`,
  (SELECT json_group_object(t.`id`, t.`threshold`) FROM `tiers` t WHERE t.`merchant_id` = l.`merchant_id`), l.`updated_at`
FROM `tier_ladders` l;
