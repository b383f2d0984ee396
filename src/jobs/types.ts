/** A scheduled job works in chunks: each chunk is bounded work that leaves the data consistent. */
export interface ChunkResult {
  processed: number;
  /** Items the chunk changed, when that differs from processed (a review confirms some members, moves others). */
  changed?: number;
  /** More due work may remain. */
  more: boolean;
}

export interface JobScope {
  /** Limit the run to one merchant (runs triggered through the API); undefined: every merchant (cron). */
  merchantId?: string;
}

export interface Job {
  name: string;
  description: string;
  runChunk(db: D1Database, at: number, scope: JobScope, limit: number): Promise<ChunkResult>;
}
