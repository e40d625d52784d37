import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { append, clear, h } from "../dom.ts";
import { onEvent } from "../events.ts";
import { bytes, duration } from "../format.ts";
import type { DrillReport, Host, Job, List } from "../types.ts";
import { ago, badge, errorBox } from "../widgets.ts";

interface LogLine {
  seq: number;
  ts: string;
  stream: "stdout" | "stderr" | "event";
  payload: string;
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const MAX_LINES = 2000;

/** Restic's summary as words: files, data added, duration, snapshot. */
function summary(stats: Record<string, unknown>): HTMLElement {
  const n = (k: string) => (typeof stats[k] === "number" ? (stats[k] as number) : null);
  const rows: Array<[string, string]> = [];
  if (stats.snapshot_id) rows.push(["Snapshot", String(stats.snapshot_id)]);
  if (n("files_new") !== null) {
    rows.push([
      "Files",
      `${n("files_new")} new, ${n("files_changed") ?? 0} changed, ${n("files_unmodified") ?? 0} unchanged`,
    ]);
  }
  if (n("data_added") !== null) rows.push(["Data added", bytes(n("data_added"))]);
  if (n("total_bytes_processed") !== null)
    rows.push(["Processed", `${bytes(n("total_bytes_processed"))} in ${n("total_files_processed")} files`]);
  if (n("total_duration") !== null) rows.push(["Duration", duration(n("total_duration"))]);
  if (stats.warning) rows.push(["Warning", String(stats.warning)]);
  if (stats.failure_reason) rows.push(["Failure", String(stats.failure_reason).replace(/_/g, " ")]);
  const known = new Set([
    "snapshot_id",
    "files_new",
    "files_changed",
    "files_unmodified",
    "data_added",
    "total_bytes_processed",
    "total_files_processed",
    "total_duration",
    "warning",
    "failure_reason",
    "message_type",
  ]);
  for (const [k, v] of Object.entries(stats))
    if (!known.has(k) && (typeof v !== "object" || v === null)) rows.push([k.replace(/_/g, " "), String(v)]);
  return h(
    "dl",
    { class: "summary" },
    rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
}

/** How a sampled file compared with the live one, in words; the failing states are marked. */
const LIVE_TEXT: Record<string, string> = {
  matched: "✓ matches the live file",
  changed: "changed since the snapshot (not compared)",
  missing: "gone from the host (not compared)",
  mismatch: "✗ differs from the unchanged live file",
  not_restored: "✗ not restored",
};

/** A drill's report: its result and why, the counts, and each sampled file with how it compared. */
export function drillReport(d: DrillReport): HTMLElement {
  const failing = (live: string) => live === "mismatch" || live === "not_restored";
  return h(
    "section",
    { class: `card drill-report drill-${d.result}`, "aria-labelledby": "drill-h" },
    h("h3", { id: "drill-h" }, "Restore drill ", badge(d.result)),
    d.reason ? h("p", { class: d.result === "failed" ? "error" : "muted", role: "alert" }, d.reason) : null,
    d.restic_error ? h("pre", { class: "error restic-error" }, d.restic_error) : null,
    h(
      "dl",
      { class: "summary" },
      h("dt", {}, "Snapshot"),
      h("dd", {}, h("code", {}, d.snapshot_id)),
      h("dt", {}, "Restored and verified"),
      h("dd", {}, `${d.files_verified} of ${d.files_requested} sampled files (${bytes(d.bytes)})`),
      h("dt", {}, "Match the live file"),
      h(
        "dd",
        {},
        String(d.live_matched),
        d.live_matched < d.files_verified
          ? " (the others changed since the snapshot or are gone, which is normal)"
          : "",
      ),
      h("dt", {}, "Differ from an unchanged live file"),
      h("dd", {}, d.mismatched.length ? d.mismatched.join(", ") : "none"),
    ),
    d.files?.length
      ? h(
          "table",
          { class: "drill-files" },
          h("caption", { class: "visually-hidden" }, "Sampled files"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["File", "Size", "SHA-256 of the restored copy", "Live file"].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          h(
            "tbody",
            {},
            d.files.map((f) =>
              h(
                "tr",
                { class: failing(f.live) ? "mismatch" : undefined, "data-file": f.path },
                h("td", { "data-label": "File" }, h("code", {}, f.path)),
                h("td", { "data-label": "Size" }, bytes(f.size)),
                h(
                  "td",
                  { "data-label": "SHA-256" },
                  f.sha256 ? h("code", { class: "hash", title: f.sha256 }, `${f.sha256.slice(0, 16)}…`) : "–",
                ),
                h(
                  "td",
                  { "data-label": "Live file", class: failing(f.live) ? "bad-text" : undefined },
                  LIVE_TEXT[f.live] ?? f.live.replace(/_/g, " "),
                  f.error ? h("small", { class: "block" }, f.error) : null,
                ),
              ),
            ),
          ),
        )
      : null,
  );
}

export const jobView: View = async (root, ctx, { id = "" }) => {
  let job = await api<Job>(`/jobs/${id}`);
  const host = await api<Host>(`/hosts/${job.host_id}`).catch(() => null);
  let lastSeq = 0;

  const head = h("div", {});
  const bar = h("div", { class: "bar-fill" });
  const progress = h(
    "div",
    { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": "Progress" },
    bar,
  );
  const progressText = h("p", { class: "progress-text", "aria-live": "polite" });
  const result = h("div", {});
  const log = h("ol", { class: "log", "aria-label": "Job log", tabindex: "0" });
  const follow = h("input", { type: "checkbox", id: "follow", checked: true });

  function renderHead() {
    clear(head);
    append(head, [
      h("h1", { tabindex: "-1" }, `${job.kind} job`, " ", badge(job.status)),
      h(
        "p",
        { class: "facts" },
        `${job.id} · by ${job.actor_kind}`,
        job.scheduled_at ? ` (tick ${new Date(job.scheduled_at).toLocaleString()})` : "",
        " · created ",
        ago(job.created_at),
        job.started_at ? [" · started ", ago(job.started_at)] : "",
        job.finished_at ? [" · finished ", ago(job.finished_at)] : "",
        job.exit_code !== null ? ` · exit code ${job.exit_code}` : "",
      ),
      ctx.isAdmin && !TERMINAL.has(job.status)
        ? h(
            "button",
            {
              type: "button",
              class: "danger",
              onclick: async (e: Event) => {
                const btn = e.currentTarget as HTMLButtonElement;
                btn.disabled = true;
                try {
                  job = await api<Job>(`/jobs/${id}/cancel`, "POST");
                  btn.textContent = "Cancel requested";
                  renderAll();
                } catch (err) {
                  btn.disabled = false;
                  head.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
                }
              },
            },
            "Cancel job",
          )
        : null,
    ]);
  }

  function renderProgress() {
    const p = job.progress;
    const pct = job.status === "succeeded" ? 100 : Math.round((p?.percent_done ?? 0) * 100);
    bar.style.width = `${pct}%`;
    progress.setAttribute("aria-valuenow", String(pct));
    progress.classList.toggle("done", TERMINAL.has(job.status));
    const done = job.status === "succeeded" && p;
    progressText.textContent = done
      ? `100% · ${p.total_files ?? 0} files · ${bytes(p.total_bytes)}`
      : p
        ? `${pct}% · ${p.files_done ?? 0}/${p.total_files ?? 0} files · ${bytes(p.bytes_done)} of ${bytes(p.total_bytes)} · ${bytes(p.throughput_bps)}/s · ETA ${TERMINAL.has(job.status) ? "–" : duration(p.eta_seconds)}`
        : TERMINAL.has(job.status)
          ? `${pct}%`
          : job.status === "queued"
            ? "Waiting for the agent…"
            : "Starting…";
  }

  function renderResult() {
    clear(result);
    if (!TERMINAL.has(job.status)) return;
    append(result, [
      h("h2", {}, "Result"),
      job.error
        ? h("p", { class: job.status === "succeeded" ? "warn-text" : "error", role: "alert" }, job.error)
        : null,
      job.stats ? summary(job.stats) : h("p", { class: "muted" }, "No statistics for this job."),
      job.kind === "drill" && job.stats?.drill ? drillReport(job.stats.drill as DrillReport) : null,
    ]);
  }

  function renderAll() {
    renderHead();
    renderProgress();
    renderResult();
  }

  async function fetchLogs() {
    for (;;) {
      const page = await api<List<LogLine>>(`/jobs/${id}/logs?after_seq=${lastSeq}&limit=1000`);
      for (const l of page.items) {
        log.append(
          h(
            "li",
            { class: `log-${l.stream}`, "data-seq": l.seq },
            h("span", { class: "stream" }, l.stream),
            " ",
            l.payload,
          ),
        );
        lastSeq = Math.max(lastSeq, l.seq);
      }
      while (log.childElementCount > MAX_LINES) log.firstElementChild?.remove();
      if (follow.checked) log.scrollTop = log.scrollHeight;
      if (!page.next_cursor) break;
    }
  }

  root.append(
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/" }, "Fleet"),
      " / ",
      h("a", { href: `#/hosts/${job.host_id}` }, host?.name ?? job.host_id),
      " / job",
    ),
    head,
    progress,
    progressText,
    result,
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "log-head" },
        h("h2", {}, "Log"),
        h("div", { class: "field inline" }, follow, h("label", { for: "follow" }, "follow new lines")),
      ),
      log,
    ),
  );
  renderAll();
  await fetchLogs();

  // One log fetch at a time; a job.log event during a fetch asks for one more round.
  let fetching = false;
  let again = false;
  const pull = async () => {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    do {
      again = false;
      await fetchLogs().catch(() => {});
    } while (again);
    fetching = false;
  };
  ctx.onLeave(
    onEvent(async (e) => {
      if (e.job_id !== id) return;
      if (e.type === "job.progress" && e.progress) {
        job = { ...job, status: job.status === "queued" ? "running" : job.status, progress: e.progress };
        renderProgress();
      } else if (e.type === "job.log") {
        await pull();
      } else if (e.type === "job.updated") {
        job = await api<Job>(`/jobs/${id}`);
        renderAll();
        await pull();
      }
    }),
  );
};
