// What a Chromium UI test needs before its own steps: Debian's Chromium through playwright-core,
// a logged-in page, and screenshots under test-artifacts/ui/. (The older ui-*.int.test.ts files
// carry their own copies of these.)
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";

export const SHOTS = join(import.meta.dir, "..", "test-artifacts", "ui");
const CHROMIUM = process.env.RF_CHROMIUM ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** Logs in on the login page and waits for the dashboard. */
export async function login(p: Page, url: string, user: string, password: string): Promise<void> {
  await p.goto(url);
  await p.getByLabel("User name").fill(user);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Log in" }).click();
  await p.getByRole("heading", { name: "Fleet", exact: true }).waitFor();
}

/** A full-page screenshot, test-artifacts/ui/<name>.png. */
export const shot = (p: Page, name: string) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** A screenshot of one element (a card, a form), test-artifacts/ui/<name>.png. */
export const shotOf = (l: Locator, name: string) => l.screenshot({ path: join(SHOTS, `${name}.png`) });

/** Whether the page is wider than its viewport (it would scroll sideways on a phone). */
export const overflows = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
