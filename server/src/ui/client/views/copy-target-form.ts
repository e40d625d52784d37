import { cronInWords } from "../../../domain/cron-words.ts";
import { retentionInWords } from "../../../domain/retention-words.ts";
import { field, h } from "../dom.ts";
import type { Policy, Repository } from "../types.ts";

type CopyTarget = Policy["copy_targets"][number];
const KEEPS = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"] as const;

/** What the policy page says of a copy target in one line: where, what it keeps, when. */
export function copyTargetText(t: CopyTarget, nameOf: (id: string) => string): string {
  const keeps = t.retention_policy ? retentionInWords(t.retention_policy, t.prune) : "keeps every copy";
  const when = t.schedule ? `on its own schedule: ${cronInWords(t.schedule) ?? t.schedule}` : "after each backup";
  return `${nameOf(t.repository_id)}: ${keeps}; copied ${when}`;
}

/**
 * One copy target's fields (issue 18 item 6, 3-2-1): the repository, its own retention (none: keep
 * every copy), prune, and an optional cron of its own (none: after each backup). Its names are the
 * API's, so `copy_targets.0.schedule` finds its box inside the entry's data-scope.
 */
export function copyTargetFields(t: CopyTarget | null, repos: readonly Repository[]) {
  const repository = h(
    "select",
    { name: "repository_id" },
    ...repos.map((r) => h("option", { value: r.id }, `${r.name} (${r.url})`)),
  );
  if (t) repository.value = t.repository_id;
  const keep = Object.fromEntries(
    KEEPS.map((k) => [
      k,
      h("input", {
        name: k,
        type: "number",
        min: 0,
        step: 1,
        value: t?.retention_policy?.[k] === undefined ? "" : String(t.retention_policy[k]),
      }),
    ]),
  ) as Record<(typeof KEEPS)[number], HTMLInputElement>;
  const prune = h("input", { name: "prune", type: "checkbox", checked: t?.prune ?? false });
  prune.id = `prune-${Math.random().toString(36).slice(2)}`;
  const schedule = h("input", {
    name: "schedule",
    value: t?.schedule ?? "",
    placeholder: "after each backup",
    autocomplete: "off",
    spellcheck: "false",
  });
  const nodes = [
    field("Repository", repository, "Another repository: the host's own is never its copy target."),
    h(
      "div",
      { class: "field", "data-field": "retention_policy" },
      h("p", { class: "hint" }, "Retention on the target (empty: keep every copy)."),
      h("div", { class: "grid" }, ...KEEPS.map((k) => field(k.replace("keep_", "keep "), keep[k]))),
      h("p", { class: "field-error", role: "alert" }),
    ),
    h(
      "div",
      { class: "field inline", "data-field": "prune" },
      prune,
      h("label", { for: prune.id }, "prune the target after its retention"),
    ),
    field(
      "Own schedule (cron)",
      schedule,
      "Empty: a copy after each successful backup. A cron: copies at its times, in each host's zone.",
    ),
  ];
  const body = () => {
    const policy: Record<string, number> = {};
    for (const k of KEEPS) if (keep[k].value !== "") policy[k] = Number(keep[k].value);
    return {
      repository_id: repository.value,
      retention_policy: Object.keys(policy).length > 0 ? policy : null,
      prune: prune.checked,
      schedule: schedule.value.trim() || null,
    };
  };
  return { nodes, body };
}
