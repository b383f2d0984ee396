/**
 * GET /docs in headless Chromium (Debian's package, driven by playwright-core) against `wrangler dev`:
 * the page lists the operations, logs no console error, and requests nothing from another origin
 * (such requests are blocked and fail the test). Skipped, saying so, when no Chromium is installed.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningEngine, startEngine } from "./engine.ts";

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
const executablePath = CANDIDATES.find((path): path is string => Boolean(path && existsSync(path)));

if (!executablePath)
  console.warn(
    "\n*** Browser tests SKIPPED: no Chromium at /usr/bin/chromium (install it with `apt-get install -y chromium`, " +
      "or set CHROMIUM_PATH). .ci/run installs it. ***\n",
  );

describe.skipIf(!executablePath)("docs page in headless Chromium", () => {
  let engine: RunningEngine;
  let browser: Browser;

  beforeAll(async () => {
    engine = await startEngine();
    browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  });

  afterAll(async () => {
    await browser?.close();
    await engine?.stop();
  });

  it("lists every operation, with no console error and no request to another origin", async () => {
    const document = (await (await fetch(`${engine.base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operationIds: string[] = Object.values<Record<string, { operationId: string }>>(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    const page = await browser.newPage();
    const outside: string[] = [];
    const problems: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (new URL(url).origin === engine.base || url.startsWith("data:")) return route.continue();
      outside.push(url);
      return route.abort("blockedbyclient");
    });
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
    const response = await page.goto(`${engine.base}/docs`, { waitUntil: "networkidle" });
    expect(response?.status()).toBe(200);
    await page.waitForSelector(".opblock", { timeout: 30_000 });
    const shown = await page.locator(".opblock").count();
    expect(shown).toBe(operationIds.length);
    const text = await page.locator("#docs").innerText();
    for (const id of ["postOrder", "refundOrder", "createRedemption", "getOrder", "getMe"]) expect(text).toContain(id);
    expect(text).toContain("Keys and scopes");
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });
});
