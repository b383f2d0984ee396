-- An order batch's first checks (a key revoked since it was cached, a stale speculative snapshot, a raced
-- first order; orders/service.ts) ride on the order's insert: it sets `guard` to the reason that holds, and
-- this trigger aborts the batch with it, read back as any batch-guard reason (platform/d1/guard.ts). One
-- statement fewer per order than a guard insert of its own. Stored rows keep `guard` null.
ALTER TABLE `orders` ADD `guard` text;
--> statement-breakpoint
CREATE TRIGGER `orders_guard` BEFORE INSERT ON `orders` WHEN NEW.`guard` IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, NEW.`guard`);
END;
