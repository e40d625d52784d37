import { ApiFailure, api } from "../api.ts";
import { field, h, showFormError } from "../dom.ts";
import { defaultRestoreFolder, landingLine } from "../restore-landing.ts";
import type { Host, Schedule, Snapshot } from "../types.ts";
import { backupSource } from "./backup-source.ts";

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

export interface RunForm {
  form: HTMLFormElement;
  /**
   * Prefills a restore of this snapshot (of only `include`, when given: paths chosen in the
   * snapshot browser) and focuses the form.
   */
  restore(snapshot: Snapshot, include?: string[]): void;
}

export interface RunFormInput {
  /** The host whose page this is: its snapshots, and by default where jobs run. */
  host: Host;
  /** Every host, for a restore onto another one (the replacement of a dead host). */
  hosts: Host[];
  schedules: Schedule[];
  snapshots: Snapshot[];
  started: (jobId: string) => void;
}

/** A host's restore folder hint: its policy's allowed folders (null: any). */
const targetsHint = (x: Host) => {
  const t = x.policy?.restore_targets ?? null;
  return t ? `${x.name}'s policy allows restores only into ${t.join(", ") || "no folder"}.` : "";
};

/**
 * "Run now" for every job kind. A restore takes a snapshot, the host to restore onto (this one,
 * or another that uses the same repository), a target folder (prefilled with the first folder the
 * target host's policy allows, else the packages' staging folder) and where the files will land in
 * it, include paths and "verify"; a drill takes a snapshot, how many
 * files to sample and at most how many bytes.
 */
export function runForm({ host, hosts, schedules, snapshots, started }: RunFormInput): RunForm {
  const hostId = host.id;
  const backupSchedule = schedules.find((s) => s.kind === "backup");
  const forgetSchedule = schedules.find((s) => s.kind === "forget");
  const kind = h(
    "select",
    { name: "kind" },
    ...["backup", "check", "forget", "prune", "restore", "drill", "init", "unlock"].map((k) =>
      h("option", { value: k }, k),
    ),
  );
  const paths = h("textarea", { name: "paths", rows: 2, value: backupSchedule?.paths.join("\n") ?? "" });
  // Prefilled from the host's first backup schedule, a command's output included.
  const source = backupSource(backupSchedule ?? null, () => {
    pathsField.hidden = !source.readsPaths();
  });
  const pathsField = field(
    "Paths (one per line)",
    paths,
    backupSchedule ? `From schedule ${backupSchedule.id}.` : undefined,
  );
  pathsField.hidden = !source.readsPaths();
  const keepLast = h("input", {
    name: "spec",
    type: "number",
    min: 1,
    value: String(forgetSchedule?.retention_policy?.keep_last ?? 10),
  });
  const prune = h("input", { type: "checkbox", id: "run-prune", checked: true });
  const subset = h("input", { name: "spec", placeholder: "e.g. 10% or 1/7 (empty: metadata only)" });
  // The snapshots listed when the form was made (the host page's loaded pages); "Restore…" on one
  // loaded later adds it (restore() below).
  const known = [...snapshots];
  const snapshotOption = (s: Snapshot) =>
    h("option", { value: s.id }, `${s.short_id} — ${new Date(s.time).toLocaleString()}`);
  const snapshotSelect = () =>
    h("select", { name: "snapshot_id" }, h("option", { value: "latest" }, "latest"), ...known.map(snapshotOption));
  // Restore onto this host, or onto another (online hosts first); the server refuses one that
  // cannot read this host's repository, and says so.
  const others = hosts.filter((x) => x.id !== hostId).sort((a, b) => Number(b.online) - Number(a.online));
  // Named for what the server checks of the pair: its refusal (`spec.source_host_id`: another
  // repository, an agent too old) lands by this field, where it is fixed.
  const onto = h(
    "select",
    { name: "source_host_id" },
    h("option", { value: hostId }, `${host.name} (this host)`),
    ...others.map((x) => h("option", { value: x.id }, `${x.name}${x.online ? "" : " (offline)"}`)),
  );
  const target = h("input", { name: "target", placeholder: defaultRestoreFolder(host.os) });
  // The hint under the folder names what the chosen host's policy allows (set as it changes).
  const targetField = field("Target folder (absolute)", target, " ");
  const targetHint = targetField.querySelector(".hint") as HTMLElement;
  targetHint.setAttribute("aria-live", "polite");
  // Where the files will land, said before Run: restic recreates each original path under the target.
  const landing = h("p", { class: "hint landing", id: `${target.id}-landing`, "aria-live": "polite" });
  targetHint.after(landing);
  target.setAttribute("aria-describedby", `${target.getAttribute("aria-describedby")} ${landing.id}`);
  const include = h("textarea", {
    name: "include",
    rows: 2,
    placeholder: "optional: paths inside the snapshot, one per line",
  });
  const snapshot = snapshotSelect();
  // The include paths, else the chosen snapshot's own paths (`latest`: the newest snapshot listed).
  const showLanding = () => {
    const chosen =
      snapshot.value === "latest"
        ? known.reduce<Snapshot | undefined>((a, s) => (a && a.time >= s.time ? a : s), undefined)
        : known.find((s) => s.id === snapshot.value);
    const included = lines(include.value);
    landing.textContent = landingLine(target.value, included.length ? included : (chosen?.paths ?? []));
  };
  for (const el of [target, include]) el.addEventListener("input", showLanding);
  snapshot.addEventListener("change", showLanding);
  // The folder follows the chosen host's policy (its first allowed folder; for a host without
  // limits, the packages' staging folder) until it is typed in.
  let typedTarget = false;
  target.addEventListener("input", () => {
    typedTarget = true;
  });
  const ontoChanged = () => {
    const x = onto.value === hostId ? host : others.find((o) => o.id === onto.value);
    if (!x) return;
    targetHint.textContent =
      targetsHint(x) || (x.id === hostId ? "" : `Restores ${host.name}'s snapshot onto ${x.name}.`);
    target.placeholder = defaultRestoreFolder(x.os);
    if (!typedTarget) target.value = x.policy?.restore_targets?.[0] ?? defaultRestoreFolder(x.os);
    showLanding();
  };
  onto.addEventListener("change", () => {
    // A refusal of the previous choice no longer applies.
    const err = onto.parentElement?.querySelector(".field-error");
    if (err) err.textContent = "";
    onto.removeAttribute("aria-invalid");
    ontoChanged();
  });
  ontoChanged();
  const verify = h("input", { type: "checkbox", name: "verify", id: "run-verify", checked: true });
  const drillSnapshot = snapshotSelect();
  const sampleFiles = h("input", { name: "sample_files", type: "number", min: 1, max: 1000, placeholder: "20" });
  const maxBytes = h("input", { name: "max_bytes", placeholder: "100M", autocomplete: "off", spellcheck: "false" });
  const parts: Record<string, HTMLElement> = {
    backup: h("div", {}, ...source.nodes, pathsField),
    forget: h(
      "div",
      {},
      field("Keep last", keepLast),
      h("div", { class: "field inline" }, prune, h("label", { for: "run-prune" }, "prune")),
    ),
    check: h("div", {}, field("Read data subset", subset)),
    restore: h(
      "div",
      {},
      field("Snapshot", snapshot),
      field("Restore onto", onto),
      targetField,
      field("Include", include, "Empty: the whole snapshot."),
      h(
        "div",
        { class: "field inline", "data-field": "verify" },
        verify,
        h("label", { for: verify.id }, "verify restored files (read each back and compare it with the snapshot)"),
      ),
    ),
    drill: h(
      "div",
      {},
      h(
        "p",
        { class: "hint" },
        "Restores a sample of files into a private temporary folder, checks them against the snapshot " +
          "and the live files that did not change since, then removes the folder.",
      ),
      field("Snapshot", drillSnapshot),
      field("Sample files", sampleFiles, "How many files to sample (empty: 20)."),
      field("At most", maxBytes, "Bytes to restore in all, e.g. 100M or 2G (empty: 100M)."),
    ),
  };
  const submit = h("button", { type: "submit" }, "Run now");
  const form = h(
    "form",
    { class: "card run-form", id: "run-now" },
    h("h3", {}, "Run now"),
    field("Job", kind),
    ...Object.values(parts),
    h("p", { class: "form-error", role: "alert" }),
    submit,
  );
  const show = () => {
    for (const [k, el] of Object.entries(parts)) {
      el.hidden = k !== kind.value;
      // An error on `spec.target` or `spec.max_bytes` lands by its field in the part shown.
      if ((k === "restore" || k === "drill" || k === "backup") && !el.hidden) el.setAttribute("data-scope", "spec");
      else el.removeAttribute("data-scope");
    }
  };
  kind.addEventListener("change", show);
  show();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let body: Record<string, unknown> = { kind: kind.value };
    if (kind.value === "backup") {
      const from = source.body();
      if (from.source === "invalid") {
        showFormError(form, { message: from.message, path: `spec.${from.field}` });
        return;
      }
      body.spec =
        from.source === "command"
          ? {
              stdin_command: from.stdin_command,
              ...(from.stdin_filename ? { stdin_filename: from.stdin_filename } : {}),
            }
          : { paths: lines(paths.value) };
    }
    if (kind.value === "forget") body.spec = { policy: { keep_last: Number(keepLast.value) }, prune: prune.checked };
    if (kind.value === "check" && subset.value.trim()) body.spec = { read_data_subset: subset.value.trim() };
    // A restore onto another host is that host's job, of this host's snapshot.
    let runOn = hostId;
    if (kind.value === "restore") {
      runOn = onto.value;
      body = {
        kind: "restore",
        spec: {
          snapshot_id: snapshot.value,
          target: target.value.trim(),
          ...(include.value.trim() ? { include: lines(include.value) } : {}),
          ...(runOn !== hostId ? { source_host_id: hostId } : {}),
          verify: verify.checked,
        },
      };
    }
    if (kind.value === "drill") {
      body = {
        kind: "drill",
        spec: {
          snapshot_id: drillSnapshot.value,
          ...(sampleFiles.value ? { sample_files: Number(sampleFiles.value) } : {}),
          ...(maxBytes.value.trim() ? { max_bytes: maxBytes.value.trim() } : {}),
        },
      };
    }
    submit.disabled = true;
    try {
      const job = await api<{ id: string }>(`/hosts/${runOn}/jobs`, "POST", body);
      started(job.id);
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    } finally {
      submit.disabled = false;
    }
  });
  return {
    form,
    restore(s, paths) {
      kind.value = "restore";
      show();
      if (!known.some((k) => k.id === s.id)) {
        known.push(s);
        snapshot.append(snapshotOption(s));
      }
      snapshot.value = s.id;
      if (paths) include.value = paths.join("\n");
      showLanding();
      target.focus();
      form.scrollIntoView({ block: "nearest" });
    },
  };
}
