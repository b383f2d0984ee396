// Module types of wrangler's default rules: `.txt` files import as text, `.bin` files as binary data.
declare module "*.txt" {
  const text: string;
  export default text;
}

declare module "*.bin" {
  const data: ArrayBuffer;
  export default data;
}
