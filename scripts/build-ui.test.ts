import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ASSETS_PATH, renderAssets } from "./build-ui.ts";

test("the embedded UI bundle is built from the current sources", async () => {
  const fresh = await renderAssets();
  if (readFileSync(ASSETS_PATH, "utf8") !== fresh) {
    throw new Error("server/src/ui/generated/assets.ts is out of date: run `bun scripts/build-ui.ts`");
  }
  expect(fresh).toContain("export const APP_JS");
});
