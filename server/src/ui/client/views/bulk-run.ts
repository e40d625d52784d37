import { ApiFailure, api } from "../api.ts";
import { append, clear, field, h, showFormError } from "../dom.ts";
import { parseLabelText } from "../labels.ts";
import type { Job } from "../types.ts";
import { badge } from "../widgets.ts";

const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

/** A host the server left out of a bulk run, and why (POST /jobs `refused`). */
interface Refused {
  host_id: string;
  host_name: string;
  message: string;
}

/** A job the bulk run made, with its host's name. */
type BulkJob = Job & { host_name: string };

export interface BulkRunInput {
  /** The hosts ticked in the list, by id. */
  selected: () => string[];
  /** The list's label filter as typed: the default for "every host with these labels". */
  labelFilter: () => string;
}

export interface BulkRunPanel {
  panel: HTMLElement;
  /** The ticked hosts changed: the count follows, and a first tick picks "the selected hosts". */
  selectionChanged(): void;
  /** A job.updated event: the job's badge in the last answer follows it. */
  jobUpdated(jobId: string, status: string): void;
}

/**
 * "Run now on several hosts" (POST /api/v1/jobs): the hosts ticked in the list, or every host with
 * some labels; a job kind and its few settings; then the jobs it made, linked, each with its live
 * status, and the hosts left out with the reason. Every rule is the server's (the single run-now's).
 */
export function bulkRunPanel({ selected, labelFilter }: BulkRunInput): BulkRunPanel {
  const bySelection = h("input", { type: "radio", name: "bulk-target", id: "bulk-selected", value: "hosts" });
  const byLabels = h("input", { type: "radio", name: "bulk-target", id: "bulk-labels", value: "labels" });
  byLabels.checked = true;
  const selectedLabel = h("label", { for: bySelection.id }, "the selected hosts (0)");
  const labels = h("input", {
    name: "selector",
    placeholder: "env=prod role=db (empty: every host)",
    autocomplete: "off",
    spellcheck: "false",
  });
  labels.addEventListener("focus", () => {
    byLabels.checked = true;
  });
  const kind = h(
    "select",
    { name: "kind" },
    ...["backup", "check", "forget", "prune", "drill", "init", "unlock"].map((k) => h("option", { value: k }, k)),
  );
  const paths = h("textarea", { name: "paths", rows: 2, placeholder: "/srv\n/etc" });
  const keepLast = h("input", { name: "policy", type: "number", min: 1, value: "10" });
  const prune = h("input", { type: "checkbox", id: "bulk-prune", checked: true });
  const subset = h("input", { name: "read_data_subset", placeholder: "e.g. 10% (empty: metadata only)" });
  const sampleFiles = h("input", { name: "sample_files", type: "number", min: 1, max: 1000, placeholder: "20" });
  const parts: Record<string, HTMLElement> = {
    backup: h("div", {}, field("Paths (one per line)", paths, "The same paths on every host.")),
    forget: h(
      "div",
      {},
      field("Keep last", keepLast, "Each host forgets only its own snapshots."),
      h("div", { class: "field inline" }, prune, h("label", { for: prune.id }, "prune")),
    ),
    check: h("div", {}, field("Read data subset", subset)),
    drill: h("div", {}, field("Sample files", sampleFiles, "Of each host's latest snapshot.")),
  };
  // The part shown is the `spec` scope: an error on `spec.paths` lands by its field there.
  const show = () => {
    for (const [k, el] of Object.entries(parts)) {
      el.hidden = k !== kind.value;
      if (el.hidden) el.removeAttribute("data-scope");
      else el.setAttribute("data-scope", "spec");
    }
  };
  kind.addEventListener("change", show);
  show();

  const result = h("div", { class: "bulk-result", role: "status", "aria-live": "polite" });
  const badges = new Map<string, HTMLElement>();
  const submit = h("button", { type: "submit" }, "Run now");
  const form = h(
    "form",
    { class: "bulk-form" },
    h(
      "fieldset",
      { class: "field", "data-field": "host_ids" },
      h("legend", {}, "On"),
      h("div", { class: "field inline" }, bySelection, selectedLabel),
      h("div", { class: "field inline" }, byLabels, h("label", { for: byLabels.id }, "every host with the labels")),
      h("p", { class: "field-error", role: "alert" }),
    ),
    field("Labels", labels, "Every label must match, as in the list's label filter."),
    field("Job", kind),
    ...Object.values(parts),
    h("p", { class: "form-error", role: "alert" }),
    submit,
  );

  function command(): Record<string, unknown> {
    const body: Record<string, unknown> = { kind: kind.value };
    if (kind.value === "backup") body.spec = { paths: lines(paths.value) };
    if (kind.value === "forget") body.spec = { policy: { keep_last: Number(keepLast.value) }, prune: prune.checked };
    if (kind.value === "check" && subset.value.trim()) body.spec = { read_data_subset: subset.value.trim() };
    if (kind.value === "drill" && sampleFiles.value) body.spec = { sample_files: Number(sampleFiles.value) };
    return body;
  }

  function showResult(items: BulkJob[], refused: Refused[]) {
    clear(result);
    badges.clear();
    append(result, [
      h("h3", {}, `Made ${items.length} job${items.length === 1 ? "" : "s"}`),
      h(
        "ul",
        { class: "bulk-jobs" },
        items.map((j) => {
          const b = badge(j.status);
          badges.set(j.id, b);
          return h("li", { "data-job": j.id }, h("a", { href: `#/jobs/${j.id}` }, `${j.host_name}: ${j.kind}`), " ", b);
        }),
      ),
      refused.length
        ? [
            h("h3", {}, `Left out ${refused.length} host${refused.length === 1 ? "" : "s"}`),
            h(
              "ul",
              { class: "bulk-refused" },
              refused.map((r) => h("li", {}, h("a", { href: `#/hosts/${r.host_id}` }, r.host_name), `: ${r.message}`)),
            ),
          ]
        : null,
    ]);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = command();
    if (bySelection.checked) body.host_ids = selected();
    else {
      const parsed = parseLabelText(labels.value);
      if (!parsed.ok) {
        showFormError(form, { message: parsed.message, path: "selector" });
        return;
      }
      body.selector = { labels: parsed.labels };
    }
    // Forget and prune delete data: said once more, with how many hosts when it is known.
    if (kind.value === "forget" || kind.value === "prune") {
      const on = bySelection.checked
        ? `${selected().length} selected hosts`
        : labels.value.trim()
          ? `every host with ${labels.value.trim()}`
          : "every host";
      if (!confirm(`Run ${kind.value} on ${on}?`)) return;
    }
    submit.disabled = true;
    try {
      const answer = await api<{ items: BulkJob[]; refused: Refused[] }>("/jobs", "POST", body);
      showFormError(form, { message: "" });
      showResult(answer.items, answer.refused);
    } catch (err) {
      clear(result);
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    } finally {
      submit.disabled = false;
    }
  });

  const panel = h(
    "details",
    { class: "card bulk-run", id: "bulk-run" },
    h("summary", {}, "Run now on several hosts"),
    form,
    result,
  );
  panel.addEventListener("toggle", () => {
    if ((panel as HTMLDetailsElement).open && !labels.value) labels.value = labelFilter();
  });
  let ticked = 0;
  return {
    panel,
    selectionChanged() {
      const n = selected().length;
      selectedLabel.textContent = `the selected hosts (${n})`;
      if (n > 0 && ticked === 0) bySelection.checked = true;
      if (n === 0 && bySelection.checked) byLabels.checked = true;
      ticked = n;
    },
    jobUpdated(jobId, status) {
      const b = badges.get(jobId);
      if (b) b.replaceWith(badges.set(jobId, badge(status)).get(jobId) as HTMLElement);
    },
  };
}
