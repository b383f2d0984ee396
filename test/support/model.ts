/** What a randomized test expects of an order, tracked beside the engine to compare with it. */
export interface ModelOrder {
  id: string;
  member: string;
  amount: number;
  points: number;
  refunded: number;
}
