import { h } from "../dom.ts";
import { resultRows } from "./job-result.ts";

export interface LogLine {
  seq: number;
  ts: string;
  stream: "stdout" | "stderr" | "event";
  payload: string;
}

/** The line as JSON when it is an object or a list (restic's --json output), else null. */
function json(payload: string): unknown {
  const t = payload.trim();
  if (!t.startsWith("{") && !t.startsWith("[")) return null;
  try {
    return JSON.parse(t);
  } catch {
    return null;
  }
}

/**
 * What a JSON line reads as: restic's summary as its labelled figures, in one line; any other
 * JSON (forget's groups, 0.18's "initialized", verbose status) closed under a short name.
 */
function jsonBody(value: unknown, raw: string): Node {
  const obj =
    value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  if (obj?.message_type === "summary") {
    const figures = { ...obj };
    // 0.18's check summary: its verdict in the check rows.
    if (typeof obj.num_errors === "number") figures.check = obj;
    const { rows } = resultRows(figures);
    if (rows.length) {
      return h(
        "span",
        { class: "log-summary", title: raw },
        h("strong", {}, "restic summary: "),
        rows.map((r, i) => [i ? " · " : "", `${r.label}: ${r.text}`]),
      );
    }
  }
  const name = Array.isArray(value)
    ? `a list of ${value.length}`
    : typeof obj?.message_type === "string"
      ? obj.message_type.replace(/_/g, " ")
      : "an object";
  return h(
    "details",
    { class: "log-json" },
    h("summary", {}, `JSON: ${name}`),
    h("pre", {}, JSON.stringify(value, null, 2)),
  );
}

/** One log line: its stream's label, then its text (JSON made readable). */
export function logItem(l: LogLine): HTMLElement {
  const value = l.stream === "event" ? null : json(l.payload);
  return h(
    "li",
    { class: `log-${l.stream}`, "data-seq": l.seq },
    h("span", { class: "stream" }, l.stream),
    " ",
    value === null ? l.payload : jsonBody(value, l.payload),
  );
}

/** A line worth showing as "where the job is" while it has no progress: text, not JSON. */
export function phaseText(l: LogLine): string | null {
  const t = l.payload.trim();
  if (!t || (l.stream !== "event" && json(t) !== null)) return null;
  return t;
}
