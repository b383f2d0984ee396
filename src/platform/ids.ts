const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Opaque id with a type prefix, e.g. `le_01jd3k...`. The first 10 characters encode the time, so ids of
 * one kind sort roughly by creation, which keeps index inserts local.
 *
 * @example newId("rd") // "rd_0ksb3q1x2m8f4n6p9r2t5v7w"
 */
export function newId(prefix: string, atMs: number = Date.now()): string {
  let time = "";
  let t = atMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let rand = "";
  for (const b of bytes) rand += ALPHABET[b % 32];
  return `${prefix}_${time}${rand}`;
}
