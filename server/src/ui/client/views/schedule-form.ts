import { type CronPreset, presetCron, presetOf } from "../../../domain/cron-presets.ts";
import { cronInWords, pad2 } from "../../../domain/cron-words.ts";
import { retentionInWords } from "../../../domain/retention-words.ts";
import { ApiFailure, api } from "../api.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import { absolute } from "../format.ts";
import type { Schedule } from "../types.ts";
import { backupSource } from "./backup-source.ts";

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
const KEEPS = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"] as const;
/** Every job kind but restore, which needs a snapshot and a target and is only run by hand. */
const KINDS = ["backup", "forget", "check", "drill", "prune", "init", "unlock"] as const;
const PRESETS = [
  ["hourly", "Hourly"],
  ["nightly", "Nightly"],
  ["weekly", "Weekly"],
  ["custom", "Custom cron"],
] as const;
/** Monday first, as a week reads; croner's numbers (0 is Sunday). */
const WEEKDAYS = [
  [1, "Monday"],
  [2, "Tuesday"],
  [3, "Wednesday"],
  [4, "Thursday"],
  [5, "Friday"],
  [6, "Saturday"],
  [0, "Sunday"],
] as const;

/**
 * The presets' controls above the cron field: choosing one, or changing its minute, time or day,
 * writes the cron (and fires its input event, so its preview and words follow); typing a cron
 * selects the preset it is, or Custom cron.
 */
function presetControls(cron: HTMLInputElement) {
  const preset = h("select", { name: "cron_preset" }, ...PRESETS.map(([v, t]) => h("option", { value: v }, t)));
  const minute = h("input", { name: "cron_minute", type: "number", min: 0, max: 59, value: "0" });
  const time = h("input", { name: "cron_time", type: "time", value: "02:00" });
  const day = h("select", { name: "cron_day" }, ...WEEKDAYS.map(([v, t]) => h("option", { value: v }, t)));
  const minuteField = field("At minute", minute);
  const timeField = field("At", time);
  const dayField = field("On", day);
  const show = () => {
    minuteField.hidden = preset.value !== "hourly";
    timeField.hidden = preset.value !== "nightly" && preset.value !== "weekly";
    dayField.hidden = preset.value !== "weekly";
  };
  const read = (p: CronPreset) => {
    preset.value = p.kind;
    if (p.kind !== "custom") minute.value = String(p.minute);
    if (p.kind === "nightly" || p.kind === "weekly") time.value = `${pad2(p.hour)}:${pad2(p.minute)}`;
    if (p.kind === "weekly") day.value = String(p.day);
    show();
  };
  const write = () => {
    show();
    const [hh = 0, mm = 0] = time.value.split(":").map(Number);
    const m = Math.min(Math.max(Math.trunc(Number(minute.value) || 0), 0), 59);
    const kind = preset.value;
    if (kind === "custom") return;
    cron.value =
      kind === "hourly"
        ? presetCron({ kind, minute: m })
        : kind === "nightly"
          ? presetCron({ kind, hour: hh, minute: mm })
          : presetCron({ kind: "weekly", day: Number(day.value), hour: hh, minute: mm });
    cron.dispatchEvent(new Event("input"));
  };
  for (const el of [preset, minute, time, day]) el.addEventListener("change", write);
  minute.addEventListener("input", write);
  cron.addEventListener("input", (e) => {
    // Our own write already matches; a typed cron picks its preset.
    if (e.isTrusted) read(presetOf(cron.value));
  });
  read(presetOf(cron.value));
  return h("div", { class: "grid cron-presets" }, field("Repeat", preset), minuteField, timeField, dayField);
}

/** What both a host's schedule and a policy's schedule hold, as the editor reads it. */
export type ScheduleDefinition = Pick<
  Schedule,
  | "kind"
  | "cron_expr"
  | "timezone"
  | "jitter"
  | "paths"
  | "excludes"
  | "tags"
  | "retention_policy"
  | "options"
  | "pre_hook"
  | "post_hook"
  | "stdin_command"
  | "stdin_filename"
  | "enabled"
> & { id?: string };

export interface ScheduleFields {
  /** The controls, to place in a form (a host's schedule form, or one entry of a policy's list). */
  nodes: HTMLElement[];
  /** The schedule as the API takes it (POST /hosts/:id/schedules, or one of a policy's `schedules`). */
  body(): Record<string, unknown>;
  /** Stops the pending cron preview, when the fields are removed. */
  stop(): void;
}

let seq = 0;

/**
 * The fields of one schedule: kind, cron with its preview (the next 5 runs, or croner's error, as
 * you type), time zone, and each kind's own part (paths and excludes or a command whose output
 * is backed up, tags and hooks for backup;
 * retention and prune for forget; the data subset for check; snapshot, sample size and byte limit
 * for a drill). `zoneHint` is the time zone field's
 * placeholder: a host's schedule defaults to the host's local time.
 */
export function scheduleFields(existing: ScheduleDefinition | null, zoneHint = "host's local time"): ScheduleFields {
  const n = ++seq;
  const kind = h("select", { name: "kind" }, ...KINDS.map((k) => h("option", { value: k }, k)));
  kind.value = existing?.kind ?? "backup";
  const cron = h("input", {
    name: "cron_expr",
    value: existing?.cron_expr ?? "0 2 * * *",
    autocomplete: "off",
    spellcheck: "false",
  });
  const tz = h("input", { name: "timezone", value: existing?.timezone ?? "", placeholder: zoneHint });
  const jitter = h("input", {
    name: "jitter",
    value: existing?.jitter ?? "",
    placeholder: "none, or e.g. 30m, 1h",
    autocomplete: "off",
    spellcheck: "false",
  });
  const preview = h("ul", { class: "preview", "aria-live": "polite", "aria-label": "Next runs" });
  const paths = h("textarea", { name: "paths", rows: 3, value: existing?.paths.join("\n") ?? "" });
  const excludes = h("textarea", { name: "excludes", rows: 2, value: existing?.excludes.join("\n") ?? "" });
  const tags = h("input", { name: "tags", value: existing?.tags.join(", ") ?? "" });
  const keep = Object.fromEntries(
    KEEPS.map((k) => [
      k,
      h("input", {
        name: "retention_policy",
        type: "number",
        min: 0,
        value: String(existing?.retention_policy?.[k] ?? ""),
      }),
    ]),
  ) as Record<(typeof KEEPS)[number], HTMLInputElement>;
  const within = h("input", {
    name: "retention_policy",
    value: String(existing?.retention_policy?.keep_within ?? ""),
    placeholder: "e.g. 30d",
  });
  const prune = h("input", {
    name: "options",
    type: "checkbox",
    id: `prune-${n}`,
    checked: existing?.options.prune === true,
  });
  const subset = h("input", {
    name: "options",
    value: String(existing?.options.read_data_subset ?? ""),
    placeholder: "e.g. 10%, 500M or k/7",
  });
  const opt = (k: string) =>
    existing?.kind === "drill" && existing.options[k] !== undefined ? String(existing.options[k]) : "";
  const drillSnapshot = h("input", {
    name: "options",
    value: opt("snapshot_id"),
    placeholder: "latest",
    autocomplete: "off",
    spellcheck: "false",
  });
  const sampleFiles = h("input", {
    name: "options",
    type: "number",
    min: 1,
    max: 1000,
    value: opt("sample_files"),
    placeholder: "20",
  });
  const maxBytes = h("input", {
    name: "options",
    value: opt("max_bytes"),
    placeholder: "100M",
    autocomplete: "off",
    spellcheck: "false",
  });
  const preHook = h("textarea", { name: "pre_hook", rows: 2, value: existing?.pre_hook ?? "" });
  const postHook = h("textarea", { name: "post_hook", rows: 2, value: existing?.post_hook ?? "" });
  const enabled = h("input", {
    name: "enabled",
    type: "checkbox",
    id: `en-${n}`,
    checked: existing?.enabled ?? true,
  });

  const retentionBody = () => {
    const policy: Record<string, unknown> = {};
    for (const k of KEEPS) if (keep[k].value) policy[k] = Number(keep[k].value);
    if (within.value.trim()) policy.keep_within = within.value.trim();
    return policy;
  };
  const retentionWords = h("p", { class: "retention-words", "aria-live": "polite" });

  const pathsField = field("Paths (one per line, absolute)", paths);
  const excludesField = field("Excludes (one per line)", excludes);
  const source = backupSource(existing ?? null, () => {
    pathsField.hidden = !source.readsPaths();
    excludesField.hidden = !source.readsPaths();
  });
  pathsField.hidden = !source.readsPaths();
  excludesField.hidden = !source.readsPaths();
  const backupPart = h(
    "fieldset",
    {},
    h("legend", {}, "What to back up"),
    ...source.nodes,
    pathsField,
    excludesField,
    field("Tags (comma separated)", tags),
    field("Pre-hook (shell)", preHook, "Runs before restic; if it fails, the backup does not run."),
    field("Post-hook (shell)", postHook),
  );
  const forgetPart = h(
    "fieldset",
    {},
    h("legend", {}, "Retention policy"),
    h("div", { class: "grid" }, ...KEEPS.map((k) => field(k.replace("keep_", "keep "), keep[k]))),
    field("keep within", within),
    h("div", { class: "field inline" }, prune, h("label", { for: prune.id }, "also prune unreferenced data")),
    retentionWords,
  );
  const showRetention = () => {
    retentionWords.textContent = retentionInWords(retentionBody(), prune.checked);
  };
  forgetPart.addEventListener("input", showRetention);
  forgetPart.addEventListener("change", showRetention);
  const checkPart = h(
    "fieldset",
    {},
    h("legend", {}, "Check"),
    field(
      "Read data subset",
      subset,
      "Empty: metadata only. 10% or 500M read that much each run; k/7 reads the next of 7 parts each run, " +
        "so 7 runs read all the data once.",
    ),
  );
  const drillPart = h(
    "fieldset",
    {},
    h("legend", {}, "Restore drill"),
    h(
      "p",
      { class: "hint" },
      "Each run restores a sample of files into a private temporary folder, checks them against the " +
        "snapshot and the unchanged live files, then removes the folder.",
    ),
    field("Snapshot", drillSnapshot, "A snapshot id, or latest (empty: latest)."),
    field("Sample files", sampleFiles, "How many files to sample (empty: 20)."),
    field("At most", maxBytes, "Bytes to restore in all, e.g. 100M or 2G (empty: 100M)."),
  );
  const cronField = field(
    "Cron expression",
    cron,
    "5 fields (minute hour day month weekday), or 6 with seconds first.",
  );
  const cronWords = h("p", { class: "cron-words", "aria-live": "polite" });
  const showWords = () => {
    cronWords.textContent = cronInWords(cron.value) ?? "";
  };
  cron.addEventListener("input", showWords);
  showWords();
  cronField.insertBefore(cronWords, cron.nextSibling);
  const presets = presetControls(cron);
  const tzField = field("Time zone", tz);
  const jitterField = field(
    "Jitter",
    jitter,
    "Spreads a fleet's tick: each host starts each run at its own fixed delay of up to this much " +
      "(90s, 30m, 1h; at most 24h and the time between runs). Empty: every host at the minute.",
  );
  const nodes = [
    field("Kind", kind),
    presets,
    cronField,
    preview,
    tzField,
    jitterField,
    backupPart,
    forgetPart,
    checkPart,
    drillPart,
    h("div", { class: "field inline" }, enabled, h("label", { for: enabled.id }, "enabled")),
  ];

  const showParts = () => {
    backupPart.hidden = kind.value !== "backup";
    forgetPart.hidden = kind.value !== "forget";
    checkPart.hidden = kind.value !== "check";
    drillPart.hidden = kind.value !== "drill";
  };
  kind.addEventListener("change", showParts);
  showParts();

  let timer: ReturnType<typeof setTimeout> | null = null;
  const cronError = () => cronField.querySelector(".field-error") as HTMLElement;
  const updatePreview = async () => {
    const q = new URLSearchParams({ cron_expr: cron.value, ...(tz.value ? { timezone: tz.value } : {}) });
    try {
      const r = await api<{ next_runs: string[] }>(`/cron/preview?${q}`);
      clear(preview);
      cronError().textContent = "";
      cron.removeAttribute("aria-invalid");
      preview.append(...r.next_runs.map((t) => h("li", {}, h("time", { datetime: t }, absolute(t)))));
    } catch (err) {
      clear(preview);
      if (err instanceof ApiFailure) {
        const target = err.error.path === "timezone" ? tzField.querySelector(".field-error") : cronError();
        if (target) target.textContent = err.error.message;
        cron.setAttribute("aria-invalid", "true");
      }
    }
  };
  for (const input of [cron, tz]) {
    input.addEventListener("input", () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(updatePreview, 250);
    });
  }
  void updatePreview();

  showRetention();

  const body = () => {
    const out: Record<string, unknown> = {
      kind: kind.value,
      cron_expr: cron.value.trim(),
      timezone: tz.value.trim() || null,
      jitter: jitter.value.trim() || null,
      enabled: enabled.checked,
    };
    if (kind.value === "backup") {
      const from = source.body();
      if (from.source === "invalid") {
        throw new ApiFailure({ status: 400, code: "invalid", message: from.message, path: from.field });
      }
      out.paths = from.source === "paths" ? lines(paths.value) : [];
      out.excludes = from.source === "paths" ? lines(excludes.value) : [];
      out.stdin_command = from.source === "command" ? from.stdin_command : null;
      out.stdin_filename = from.source === "command" ? from.stdin_filename : null;
      out.tags = tags.value
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean);
      out.pre_hook = preHook.value.trim() || null;
      out.post_hook = postHook.value.trim() || null;
    }
    // Only a backup reads a command's output: a schedule changed to another kind drops it.
    if (kind.value !== "backup") {
      out.stdin_command = null;
      out.stdin_filename = null;
    }
    if (kind.value === "forget") {
      out.retention_policy = retentionBody();
      out.options = { prune: prune.checked };
    }
    if (kind.value === "check" && subset.value.trim()) out.options = { read_data_subset: subset.value.trim() };
    if (kind.value === "drill") {
      const o: Record<string, unknown> = {};
      if (drillSnapshot.value.trim()) o.snapshot_id = drillSnapshot.value.trim();
      if (sampleFiles.value) o.sample_files = Number(sampleFiles.value);
      if (maxBytes.value.trim()) o.max_bytes = maxBytes.value.trim();
      out.options = o;
    }
    return out;
  };
  return {
    nodes,
    body,
    stop: () => {
      if (timer) clearTimeout(timer);
    },
  };
}

/** Create or edit one of a host's own schedules. */
export function scheduleForm(hostId: string, existing: Schedule | null, done: () => void): HTMLFormElement {
  const fields = scheduleFields(existing);
  const submit = h("button", { type: "submit" }, existing ? "Save schedule" : "Create schedule");
  const form = h(
    "form",
    { class: "card schedule-form" },
    h("h3", {}, existing ? `Edit schedule ${existing.id}` : "New schedule"),
    ...fields.nodes,
    h("p", { class: "form-error", role: "alert" }),
    h(
      "div",
      { class: "actions" },
      submit,
      h("button", { type: "button", class: "secondary", onclick: done }, "Cancel"),
    ),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      if (existing) await api(`/schedules/${existing.id}`, "PATCH", fields.body());
      else await api(`/hosts/${hostId}/schedules`, "POST", fields.body());
      done();
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
