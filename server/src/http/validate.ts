import type { Context } from "hono";
import * as v from "valibot";
import { DomainError } from "../domain/errors.ts";

/** Reads and validates a JSON body; 400 names the offending field. */
export async function jsonBody<S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
  let raw: unknown;
  try {
    const text = await c.req.text();
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new DomainError("invalid", "request body is not valid JSON");
  }
  return parse(schema, raw);
}

export function parse<S extends v.GenericSchema>(schema: S, raw: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, raw, { abortPipeEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = v.getDotPath(issue) ?? undefined;
  // A strict object's extra key: say so plainly (valibot says "Expected never").
  const message =
    issue.type === "strict_object" && issue.expected === "never" ? "unknown field: check its spelling" : issue.message;
  throw new DomainError("invalid", path ? `${path}: ${message}` : message, path);
}

/** Query parameters, validated like a body. */
export function query<S extends v.GenericSchema>(c: Context, schema: S): v.InferOutput<S> {
  return parse(schema, c.req.query());
}
