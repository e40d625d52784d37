import { ApiFailure, api } from "../api.ts";
import { field, h, showFormError } from "../dom.ts";
import type { Schedule, Snapshot } from "../types.ts";

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

export interface RunForm {
  form: HTMLFormElement;
  /** Prefills a restore of this snapshot and focuses the form. */
  restore(snapshot: Snapshot): void;
}

/** "Run now" for every job kind; restore takes a snapshot, a target and include paths. */
export function runForm(
  hostId: string,
  schedules: Schedule[],
  snapshots: Snapshot[],
  /** The host policy's allowed restore folders (null: any): the first one is the default target. */
  restoreTargets: string[] | null,
  started: (jobId: string) => void,
): RunForm {
  const backupSchedule = schedules.find((s) => s.kind === "backup");
  const forgetSchedule = schedules.find((s) => s.kind === "forget");
  const kind = h(
    "select",
    { name: "kind" },
    ...["backup", "check", "forget", "prune", "restore", "init", "unlock"].map((k) => h("option", { value: k }, k)),
  );
  const paths = h("textarea", { name: "spec", rows: 2, value: backupSchedule?.paths.join("\n") ?? "" });
  const keepLast = h("input", {
    name: "spec",
    type: "number",
    min: 1,
    value: String(forgetSchedule?.retention_policy?.keep_last ?? 10),
  });
  const prune = h("input", { type: "checkbox", id: "run-prune", checked: true });
  const subset = h("input", { name: "spec", placeholder: "e.g. 10% (empty: metadata only)" });
  const snapshot = h(
    "select",
    { name: "spec" },
    h("option", { value: "latest" }, "latest"),
    ...snapshots.map((s) => h("option", { value: s.id }, `${s.short_id} — ${new Date(s.time).toLocaleString()}`)),
  );
  const staging = restoreTargets?.[0];
  const target = h("input", {
    name: "spec",
    placeholder: "/srv/restore",
    ...(staging ? { value: staging } : {}),
  });
  const include = h("textarea", {
    name: "spec",
    rows: 2,
    placeholder: "optional: paths inside the snapshot, one per line",
  });
  const parts: Record<string, HTMLElement> = {
    backup: h(
      "div",
      {},
      field("Paths (one per line)", paths, backupSchedule ? `From schedule ${backupSchedule.id}.` : undefined),
    ),
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
      field(
        "Target folder (absolute)",
        target,
        restoreTargets
          ? `This host's policy allows restores only into ${restoreTargets.join(", ") || "no folder"}.`
          : undefined,
      ),
      field("Include", include),
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
    for (const [k, el] of Object.entries(parts)) el.hidden = k !== kind.value;
  };
  kind.addEventListener("change", show);
  show();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let body: Record<string, unknown> = { kind: kind.value };
    if (kind.value === "backup") body.spec = { paths: lines(paths.value) };
    if (kind.value === "forget") body.spec = { policy: { keep_last: Number(keepLast.value) }, prune: prune.checked };
    if (kind.value === "check" && subset.value.trim()) body.spec = { read_data_subset: subset.value.trim() };
    if (kind.value === "restore") {
      body = {
        kind: "restore",
        spec: {
          snapshot_id: snapshot.value,
          target: target.value.trim(),
          ...(include.value.trim() ? { include: lines(include.value) } : {}),
        },
      };
    }
    submit.disabled = true;
    try {
      const job = await api<{ id: string }>(`/hosts/${hostId}/jobs`, "POST", body);
      started(job.id);
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    } finally {
      submit.disabled = false;
    }
  });
  return {
    form,
    restore(s) {
      kind.value = "restore";
      show();
      snapshot.value = s.id;
      target.focus();
      form.scrollIntoView({ block: "nearest" });
    },
  };
}
