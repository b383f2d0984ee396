ALTER TABLE `lot_moves` ADD `undone` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `point_lots` ADD `owed` integer DEFAULT 0 NOT NULL;