import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { append, clear, h } from "../dom.ts";
import { onEvent } from "../events.ts";
import { bytes, duration } from "../format.ts";
import type { Host, Job, List } from "../types.ts";
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
