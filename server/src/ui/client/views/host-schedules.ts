import { cronInWords } from "../../../domain/cron-words.ts";
import { retentionInWords } from "../../../domain/retention-words.ts";
import { api } from "../api.ts";
import { joinWords } from "../argv-words.ts";
import { clear, h } from "../dom.ts";
import { absolute } from "../format.ts";
import type { Schedule } from "../types.ts";
import { ago, emptyState } from "../widgets.ts";
import { scheduleForm } from "./schedule-form.ts";

/**
 * What a schedule does, in short: a backup's paths (or the command whose output it keeps), a forget's retention, a check's data subset
 * (a rolling "k/N" one with the part it reads next and when it last read all of them), a
 * drill's sample.
 */
function whatText(s: Schedule) {
  const o = s.options;
  switch (s.kind) {
    case "backup":
      // A command's output: the command as typed, and the file it becomes in the snapshot.
      return s.stdin_command
        ? h(
            "span",
            { class: "stdin-what" },
            "output of ",
            h("code", { class: "stdin-what" }, joinWords(s.stdin_command)),
            ` as ${s.stdin_filename ?? "stdin"}`,
          )
        : s.paths.join(", ");
    case "forget":
      return retentionInWords(s.retention_policy, o.prune === true);
    case "check": {
      const subset = typeof o.read_data_subset === "string" ? o.read_data_subset : null;
      const c = s.read_cycle;
      return [
        subset ? `reads ${subset}` : "metadata only",
        c
          ? h(
              "div",
              { class: "read-cycle" },
              `next: part ${c.next_part} of ${c.parts} (${c.parts_done} read in this cycle) · last full read `,
              ago(c.last_full_read_at),
            )
          : null,
      ];
    }
    case "drill":
      return `${o.sample_files ?? 20} files, at most ${o.max_bytes ?? "100M"}, of ${o.snapshot_id ?? "latest"}`;
    default:
      return "";
  }
}

/**
 * One line per schedule where they are only listed (the policies page): its kind, when in words
 * (or its cron), and a forget's retention.
 */
export function scheduleLine(
  s: Pick<Schedule, "kind" | "cron_expr" | "timezone" | "retention_policy" | "options" | "enabled">,
): string {
  const when = cronInWords(s.cron_expr) ?? s.cron_expr;
  const zone = s.timezone ? ` (${s.timezone})` : "";
  const what = s.kind === "forget" ? ` · ${retentionInWords(s.retention_policy, s.options.prune === true)}` : "";
  return `${s.kind} ${when}${zone}${what}${s.enabled ? "" : " (disabled)"}`;
}

/** The cron expression, its zone, and the expression in words when it can be put in words. */
export function cronCell(expr: string, timezone: string | null) {
  const words = cronInWords(expr);
  return [
    h("code", {}, expr),
    timezone ? ` (${timezone})` : "",
    words ? h("div", { class: "cron-words" }, words) : null,
  ];
}

/**
 * The host's schedules table, into `box`. Admins also get Edit, Enable/Disable and Delete per
 * schedule and "Add schedule", which open the schedule form under the table. After any change it
 * awaits `changed`, which reloads the schedules and renders again. A schedule from a policy is
 * marked with the policy's name (from `policyNames`, id → name) and is changed only there.
 */
export function renderHostSchedules(
  box: HTMLElement,
  hostId: string,
  schedules: Schedule[],
  isAdmin: boolean,
  changed: () => Promise<void>,
  policyNames: ReadonlyMap<string, string> = new Map(),
): void {
  clear(box);
  box.append(h("h2", { id: "sch-h" }, "Schedules"));
  const editor = h("div", {});
  const openForm = (s: Schedule | null) => {
    clear(editor);
    editor.append(
      scheduleForm(hostId, s, async () => {
        clear(editor);
        await changed();
      }),
    );
    editor.querySelector<HTMLElement>("select, input")?.focus();
  };
  if (schedules.length === 0) {
    box.append(emptyState("No schedules yet: add a backup schedule so this host is backed up regularly."));
  } else {
    box.append(
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h("tr", {}, ...["Kind", "When", "Next runs", "What", "State", ""].map((t) => h("th", { scope: "col" }, t))),
        ),
        h(
          "tbody",
          {},
          schedules.map((s) =>
            h(
              "tr",
              { "data-schedule": s.id },
              h(
                "td",
                { "data-label": "Kind" },
                s.kind,
                s.policy_id
                  ? h(
                      "div",
                      { class: "from-policy" },
                      "from policy ",
                      h(
                        "a",
                        { href: `#/policies/${s.policy_id}` },
                        s.policy_name ?? policyNames.get(s.policy_id) ?? s.policy_id,
                      ),
                    )
                  : null,
              ),
              h("td", { "data-label": "When" }, cronCell(s.cron_expr, s.timezone)),
              h(
                "td",
                { "data-label": "Next runs" },
                s.next_runs
                  .slice(0, 2)
                  .map((t) =>
                    h("div", {}, h("time", { datetime: t, title: absolute(t) }, new Date(t).toLocaleString())),
                  ),
              ),
              h("td", { "data-label": "What" }, whatText(s)),
              h("td", { "data-label": "State" }, s.enabled ? "enabled" : "disabled"),
              h(
                "td",
                { class: "actions" },
                isAdmin && s.policy_id
                  ? [
                      ...["Edit", "Delete"].map((t) =>
                        h(
                          "button",
                          {
                            type: "button",
                            class: "secondary",
                            disabled: true,
                            "aria-describedby": `pol-hint-${s.id}`,
                          },
                          t,
                        ),
                      ),
                      h("p", { class: "hint", id: `pol-hint-${s.id}` }, "Change it in its policy."),
                    ]
                  : isAdmin
                    ? [
                        h("button", { type: "button", class: "secondary", onclick: () => openForm(s) }, "Edit"),
                        h(
                          "button",
                          {
                            type: "button",
                            class: "secondary",
                            onclick: async () => {
                              await api(`/schedules/${s.id}`, "PATCH", { enabled: !s.enabled });
                              await changed();
                            },
                          },
                          s.enabled ? "Disable" : "Enable",
                        ),
                        h(
                          "button",
                          {
                            type: "button",
                            class: "danger",
                            onclick: async () => {
                              if (!confirm(`Delete the ${s.kind} schedule ${s.cron_expr}?`)) return;
                              await api(`/schedules/${s.id}`, "DELETE");
                              await changed();
                            },
                          },
                          "Delete",
                        ),
                      ]
                    : null,
              ),
            ),
          ),
        ),
      ),
    );
  }
  if (isAdmin) {
    box.append(h("button", { type: "button", onclick: () => openForm(null) }, "Add schedule"), editor);
  }
}
