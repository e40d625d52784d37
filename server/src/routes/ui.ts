import { createHash } from "node:crypto";
import { Hono } from "hono";
import { APP_CSS, APP_JS, INDEX_HTML } from "../ui/generated/assets.ts";

/** No inline scripts or styles, nothing from elsewhere, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

const etag = (body: string) => `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;

const ASSETS: Record<string, { body: string; type: string; etag: string }> = {
  "/": { body: INDEX_HTML, type: "text/html; charset=utf-8", etag: etag(INDEX_HTML) },
  "/assets/app.js": { body: APP_JS, type: "text/javascript; charset=utf-8", etag: etag(APP_JS) },
  "/assets/app.css": { body: APP_CSS, type: "text/css; charset=utf-8", etag: etag(APP_CSS) },
};

/** The web UI: one page and two assets, embedded in the server (see docs/ui.md). */
export function uiRoutes() {
  const app = new Hono();
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, (c) => {
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      c.header("X-Content-Type-Options", "nosniff");
      c.header("Referrer-Policy", "no-referrer");
      c.header("Cache-Control", "no-cache");
      c.header("ETag", asset.etag);
      if (c.req.header("If-None-Match") === asset.etag) return c.body(null, 304);
      c.header("Content-Type", asset.type);
      return c.body(asset.body);
    });
  }
  return app;
}
