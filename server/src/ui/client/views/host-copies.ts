import { retentionInWords } from "../../../domain/retention-words.ts";
import { ApiFailure, api } from "../api.ts";
import { h } from "../dom.ts";
import type { CopyTarget } from "../types.ts";
import { ago, badge, errorBox } from "../widgets.ts";

/** What a target's state means, in words beside its badge. */
const HEALTH_TEXT: Record<CopyTarget["health"], string> = {
  ok: "copied after the last backup",
  pending: "waiting for the copy of the newest backup",
  stale: "the copy lags the backup",
  failed: "the last copy failed",
  unsupported: "this host's agent is too old for copies (protocol 9): upgrade it",
};

/**
 * The host's copy targets (3-2-1): per target, where it comes from, its retention, the newest
 * copied snapshot and its age, and the last copy. Nothing when the host has none.
 */
export function renderHostCopies(
  box: HTMLElement,
  targets: readonly CopyTarget[],
  opts: { hostId: string; isAdmin: boolean },
): void {
  box.replaceChildren();
  box.hidden = targets.length === 0;
  if (targets.length === 0) return;
  box.append(
    h("h2", { id: "copies-h" }, "Copies"),
    h(
      "table",
      { class: "copies" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Target", "State", "Newest copy", "Copies", "Retention", "Last copy", ""].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        targets.map((t) =>
          h(
            "tr",
            { "data-target": t.repository_id },
            h(
              "td",
              { "data-label": "Target" },
              h("a", { href: "#/repositories" }, t.repository_name ?? t.repository_id),
              h(
                "div",
                { class: "muted" },
                t.source.kind === "policy" ? `from policy ${t.source.policy_name}` : "this host's own",
              ),
              h(
                "div",
                { class: "muted" },
                t.schedule ? `copied on its own schedule: ${t.schedule}` : "copied after each backup",
              ),
            ),
            h("td", { "data-label": "State" }, badge(t.health), h("div", { class: "muted" }, HEALTH_TEXT[t.health])),
            h(
              "td",
              { "data-label": "Newest copy" },
              ago(t.latest_snapshot_time),
              t.latest_snapshot_id ? h("div", {}, h("code", {}, t.latest_snapshot_id.slice(0, 8))) : null,
            ),
            h("td", { "data-label": "Copies" }, t.snapshot_count ?? "–"),
            h(
              "td",
              { "data-label": "Retention" },
              t.retention_policy ? retentionInWords(t.retention_policy, t.prune) : "keeps every copy",
            ),
            h(
              "td",
              { "data-label": "Last copy" },
              t.last_copy
                ? h(
                    "a",
                    { href: `#/jobs/${t.last_copy.job_id}`, class: "badge-link" },
                    badge(t.last_copy.status),
                    " ",
                    ago(t.last_copy.finished_at),
                  )
                : h("span", { class: "muted" }, "none yet"),
              t.last_copy?.status === "failed" && t.last_copy.error
                ? h("div", { class: "muted" }, t.last_copy.error.split("\n")[0])
                : null,
            ),
            h(
              "td",
              { class: "actions" },
              opts.isAdmin && t.health !== "unsupported" ? copyNow(box, opts.hostId, t.repository_id) : null,
            ),
          ),
        ),
      ),
    ),
  );
}

/** "Copy now": a copy job to this target, with its retention (the server fills it in). */
function copyNow(box: HTMLElement, hostId: string, targetId: string) {
  const button = h("button", { type: "button", class: "secondary" }, "Copy now");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const job = await api<{ id: string }>(`/hosts/${hostId}/jobs`, "POST", {
        kind: "copy",
        spec: { target_id: targetId },
      });
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      box.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
      button.disabled = false;
    }
  });
  return button;
}
