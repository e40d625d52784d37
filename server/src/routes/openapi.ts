import { Hono } from "hono";
import { openApiDocument } from "../http/openapi.ts";
import { API_OPERATIONS } from "./api-operations.ts";

/**
 * GET /openapi.json, without authentication, like /server-info: it describes the API this
 * version serves (the same for every server of it) and holds no data. Built at the first request,
 * not at start-up, and kept: the schemas do not change while the server runs.
 */
export function openApiRoutes(version: string) {
  let text: string | null = null;
  return new Hono().get("/", (c) => {
    text ??= JSON.stringify(openApiDocument(API_OPERATIONS, version));
    return c.body(text, 200, { "Content-Type": "application/json; charset=utf-8" });
  });
}
