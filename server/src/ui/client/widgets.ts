import { ApiFailure } from "./api.ts";
import { h } from "./dom.ts";
import { absolute, age, bytes, plural } from "./format.ts";

/** A relative age whose absolute time shows on hover (and to screen readers via <time>). */
export function ago(iso: string | null | undefined) {
  return iso ? h("time", { datetime: iso, title: absolute(iso) }, age(iso)) : h("span", { class: "muted" }, "never");
}

const BADGE_TEXT: Record<string, string> = {
  ok: "✓ OK",
  warning: "⚠ warning",
  succeeded: "✓ succeeded",
  failed: "✗ failed",
  stale: "⚠ stale",
  pending: "… pending",
  unscheduled: "– unscheduled",
  queued: "… queued",
  running: "▶ running",
  cancelled: "■ cancelled",
  online: "● online",
  offline: "○ offline",
  in_sync: "✓ in sync",
  not_synced: "… pending",
  passed: "✓ passed",
  fired: "▶ fired",
  skipped: "– skipped",
};

/** Status with a symbol and a word, so colour is never the only signal. */
export function badge(status: string) {
  return h("span", { class: `badge badge-${status}` }, BADGE_TEXT[status] ?? status);
}

/**
 * The mark of a job the agent ran on its own authority while the server was away (actor_kind
 * "agent", DESIGN §8.7); null for any other job. Words, not only a colour.
 */
export function awayBadge(job: { actor_kind: string }) {
  if (job.actor_kind !== "agent") return null;
  return h(
    "span",
    {
      class: "badge badge-away",
      title:
        "The agent ran this backup on its own, from the last config it held, while it had no link to the server; " +
        "the server recorded it when the agent came back.",
    },
    "⇄ ran while the server was away",
  );
}

/** The row a dialog form ends with: its submit button, then Cancel. */
export function formActions(submit: HTMLElement, cancel: () => void): HTMLElement {
  return h(
    "div",
    { class: "actions" },
    submit,
    h("button", { type: "button", class: "secondary", onclick: cancel }, "Cancel"),
  );
}

export function emptyState(text: string, ...action: Array<HTMLElement | null>) {
  return h("div", { class: "empty" }, h("p", {}, text), ...action);
}

export function errorBox(message: string) {
  return h("p", { class: "error", role: "alert" }, message);
}

/** What went wrong, in the server's words when it answered. */
export const failureText = (err: unknown) => (err instanceof ApiFailure ? err.error.message : String(err));

/**
 * "Last verified restore": the host's last drill, its result linked to the drill job, and its age;
 * "never" before the first one.
 */
export function drillFact(x: {
  last_drill_at?: string | null;
  last_drill_result?: string | null;
  last_drill_job_id?: string | null;
}) {
  if (!x.last_drill_at || !x.last_drill_result) return h("span", { class: "muted drill-never" }, "never");
  const b = badge(x.last_drill_result);
  return h(
    "span",
    { class: "drill-fact" },
    x.last_drill_job_id ? h("a", { href: `#/jobs/${x.last_drill_job_id}`, class: "badge-link" }, b) : b,
    " ",
    ago(x.last_drill_at),
  );
}

/**
 * A snapshot's size and file count. restic before 0.17 stores no summary in a snapshot, so the
 * size is known only from the backup job that made it: a snapshot made elsewhere (another client,
 * or before this fleet) has none, and says why on hover.
 */
export function snapshotSize(s: { size_bytes: number | null; file_count: number | null }) {
  if (s.size_bytes === null)
    return h(
      "span",
      {
        class: "muted",
        title:
          "Not recorded: restic before 0.17 keeps no size in a snapshot, and no backup job of this fleet made this one.",
      },
      "n/a",
    );
  return s.file_count === null ? bytes(s.size_bytes) : `${bytes(s.size_bytes)} · ${plural(s.file_count, "file")}`;
}
