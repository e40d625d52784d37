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
 * The ticks merged into a run of the schedule that was still queued or running (at most one
 * pending run per schedule): "3 ticks skipped: previous run still running · last 2 min ago", the
 * run linked. Nothing while no tick was skipped.
 */
function skippedNote(s: Schedule) {
  const k = s.skipped_ticks;
  if (!k) return [];
  const state = /still (queued|running)/.exec(k.last_reason)?.[1] ?? "pending";
  return [
    h(
      "div",
      { class: "skipped-ticks", title: k.last_reason },
      `${k.count} tick${k.count === 1 ? "" : "s"} skipped: `,
      h("a", { href: `#/jobs/${k.job_id}` }, "previous run"),
      ` still ${state} · last `,
      ago(k.last_skipped_at),
    ),
  ];
}

/** Brings the skipped-ticks notes of a rendered table up to date, leaving an open form alone. */
export function updateSkippedTicks(box: HTMLElement, schedules: Schedule[]): void {
  for (const s of schedules) {
    const slot = box.querySelector<HTMLElement>(`tr[data-schedule="${CSS.escape(s.id)}"] .skipped-slot`);
    if (!slot) continue;
    clear(slot);
    slot.append(...skippedNote(s));
  }
}

/**
 * One line per schedule where they are only listed (the policies page): its kind, when in words
 * (or its cron), and a forget's retention.
 */
export function scheduleLine(
  s: Pick<Schedule, "kind" | "cron_expr" | "timezone" | "jitter" | "retention_policy" | "options" | "enabled">,
): string {
  const when = cronInWords(s.cron_expr) ?? s.cron_expr;
  const zone = s.timezone ? ` (${s.timezone})` : "";
  const spread = s.jitter ? `, spread over ${s.jitter}` : "";
  const what = s.kind === "forget" ? ` · ${retentionInWords(s.retention_policy, s.options.prune === true)}` : "";
  return `${s.kind} ${when}${zone}${spread}${what}${s.enabled ? "" : " (disabled)"}`;
}

/** A delay as the Next runs column says it: "+12m", "+1h05m", "+45s". */
export function delayText(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `+${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `+${m}m${s ? `${String(s).padStart(2, "0")}s` : ""}`;
  return `+${s}s`;
}

/**
 * The next runs as this host starts them: the nominal tick plus its jitter delay, with the delay
 * named ("+12m jitter") and the nominal time in the tooltip; or why the jitter is not applied.
 */
function nextRunsCell(s: Schedule) {
  const runs = s.next_real_runs.slice(0, 2).map((t, i) => {
    const nominal = s.next_runs[i] ?? t;
    const title = s.delay_seconds > 0 ? `${absolute(t)} (tick ${absolute(nominal)})` : absolute(t);
    return h("div", {}, h("time", { datetime: t, title }, new Date(t).toLocaleString()));
  });
  const note = s.jitter_problem
    ? h("div", { class: "jitter-note warn" }, `jitter ${s.jitter} not applied: `, s.jitter_problem)
    : s.jitter && s.next_runs.length > 0
      ? h("div", { class: "jitter-note" }, `(${delayText(s.delay_seconds)} jitter, of up to ${s.jitter})`)
      : null;
  return [...runs, note];
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
                s.repository_wide
                  ? h(
                      "div",
                      { class: "from-policy repository-wide" },
                      "run by the server for the shared ",
                      h("a", { href: "#/repositories" }, "repository"),
                      ", on one of its hosts per tick",
                    )
                  : null,
              ),
              h("td", { "data-label": "When" }, cronCell(s.cron_expr, s.timezone)),
              h("td", { "data-label": "Next runs" }, nextRunsCell(s)),
              h("td", { "data-label": "What" }, whatText(s)),
              h(
                "td",
                { "data-label": "State" },
                s.enabled ? "enabled" : "disabled",
                h("div", { class: "skipped-slot" }, skippedNote(s)),
              ),
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
