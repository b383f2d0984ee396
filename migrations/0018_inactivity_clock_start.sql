-- When the inactivity policy took effect as it stands (programs.expiry_since): inactivity counts from the
-- later of it and the member's last activity. Null for programs stored before: their clocks are unchanged.
ALTER TABLE `programs` ADD `expiry_since` integer;