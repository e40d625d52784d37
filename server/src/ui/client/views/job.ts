import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { append, clear, h } from "../dom.ts";
import { type LiveEvent, onEvent } from "../events.ts";
import { absolute, age, bytes, duration, plural, secondsBetween, took } from "../format.ts";
import type { DrillReport, Host, Job, List } from "../types.ts";
import { ago, awayBadge, badge, errorBox } from "../widgets.ts";
import { drillReport } from "./job-drill.ts";
import { type LogLine, logItem, phaseText } from "./job-log.ts";
import { summary } from "./job-result.ts";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const MAX_LINES = 2000;
/** A job only moves forward: a reply fetched before a later change must not turn it back. */
const RANK: Record<string, number> = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 };

/** What a running job does while restic prints no progress (a check, a hook, a prune). */
const DOING: Record<string, string> = {
  backup: "Backing up",
  init: "Initializing the repository",
  forget: "Applying the retention policy",
  prune: "Pruning the repository",
  check: "Checking the repository",
  unlock: "Removing stale locks",
  restore: "Restoring",
  drill: "Running the restore drill",
};

/** Runs `fn` one call at a time; calls during a run ask for one more round after it. */
function serial(fn: () => Promise<void>): () => Promise<void> {
  let running = false;
  let again = false;
  return async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    do {
      again = false;
      await fn().catch(() => {});
    } while (again);
    running = false;
  };
}

/**
 * A finished job's own figures, from its result (never from the last progress frame before it);
 * "" when it has none to show beyond its status.
 */
function finalFigures(job: Job): string {
  const s = job.stats ?? {};
  const num = (k: string) => (typeof s[k] === "number" ? (s[k] as number) : null);
  const files = num("total_files_processed");
  if (files !== null) return `${plural(files, "file")} · ${bytes(num("total_bytes_processed"))}`;
  const restored = num("files_restored");
  if (restored !== null) return `${plural(restored, "file")} restored · ${bytes(num("bytes_restored"))}`;
  const drill = s.drill as DrillReport | undefined;
  if (drill?.result) {
    const verified = `${drill.files_verified} of ${plural(drill.files_requested, "sampled file")} verified`;
    return `${drill.result === "passed" ? "Passed" : "Failed"} · ${verified}`;
  }
  const check = s.check as { num_errors?: number } | undefined;
  if (typeof check?.num_errors === "number") {
    return check.num_errors === 0 ? "No errors found" : `${plural(check.num_errors, "error")} found`;
  }
  if (job.status !== "succeeded") return "";
  // restic check exits 0 only when it found no errors (0.14 prints no summary to read).
  return job.kind === "check" ? "No errors found" : "Done";
}

/** "queued for 5s", "running for 1m 12s", "took 3m 4s", "failed after 2s". */
function elapsedText(job: Job, now = Date.now()): string {
  if (job.status === "queued") return `queued for ${duration(secondsBetween(job.created_at, null, now))}`;
  const s = secondsBetween(job.started_at, job.finished_at, now);
  if (s === null) return "";
  if (job.status === "running") return `running for ${duration(s)}`;
  return job.status === "succeeded" ? `took ${took(s)}` : `${job.status} after ${took(s)}`;
}

export const jobView: View = async (root, ctx, { id = "" }) => {
  // Listen before the first load: run now opens this page at once, so the job usually starts
  // while it loads, and a job.updated missed then left it "queued" until the next one (issue 17).
  // "ready" is the event stream (re)connecting: what happened while it was down is fetched again.
  const early: LiveEvent[] = [];
  let handle: ((e: LiveEvent) => void) | null = null;
  ctx.onLeave(
    onEvent((e) => {
      if (e.type !== "ready" && e.job_id !== id) return;
      if (handle) handle(e);
      else early.push(e);
    }),
  );
  let job = await api<Job>(`/jobs/${id}`);
  const host = await api<Host>(`/hosts/${job.host_id}`).catch(() => null);
  let lastSeq = 0;
  let phase: string | null = null;

  const head = h("div", {});
  const facts = h("p", { class: "facts" });
  const bar = h("div", { class: "bar-fill" });
  const progress = h(
    "div",
    { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": "Progress" },
    bar,
  );
  const figures = h("span", { class: "figures", "aria-live": "polite" });
  // Outside the live region: it changes every second.
  const elapsed = h("span", { class: "elapsed" });
  const dot = h("span", {}, " · ");
  const progressText = h("p", { class: "progress-text" }, figures, dot, elapsed);
  const phaseLine = h("p", { class: "progress-phase muted" });
  const result = h("div", { class: "job-result" });
  const log = h("ol", { class: "log", "aria-label": "Job log", tabindex: "0" });
  const follow = h("input", { type: "checkbox", id: "follow", checked: true });
  // A finished job's lines go after RF_KEEP_JOB_LOGS_DAYS (server retention): say so, not an empty log.
  const pruned = h("p", { class: "muted" });

  function renderHead() {
    clear(head);
    append(head, [
      h("h1", { tabindex: "-1" }, `${job.kind} job`, " ", badge(job.status), " ", awayBadge(job)),
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
    clear(facts);
    append(facts, [
      `${job.id} · by ${job.actor_kind === "agent" ? "the agent, on its own (the server was away)" : job.actor_kind}`,
      job.scheduled_at ? ` (tick ${new Date(job.scheduled_at).toLocaleString()})` : "",
      " · created ",
      ago(job.created_at),
      job.started_at ? [" · started ", ago(job.started_at)] : "",
      job.finished_at ? [" · finished ", ago(job.finished_at)] : "",
      job.exit_code !== null ? ` · exit code ${job.exit_code}` : "",
    ]);
  }

  function renderProgress() {
    const p = TERMINAL.has(job.status) ? null : job.progress;
    const done = TERMINAL.has(job.status);
    // Nothing to measure: a running job without restic's progress (a check, a hook) is indeterminate.
    const unknown = job.status === "running" && !p;
    const pct =
      job.status === "succeeded" ? 100 : Math.round((p?.percent_done ?? job.progress?.percent_done ?? 0) * 100);
    bar.style.width = unknown ? "" : `${pct}%`;
    if (unknown) progress.removeAttribute("aria-valuenow");
    else progress.setAttribute("aria-valuenow", String(pct));
    progress.classList.toggle("done", done);
    progress.classList.toggle("indeterminate", unknown);
    figures.textContent = done
      ? finalFigures(job)
      : p
        ? `${pct}% · ${(p.files_done ?? 0).toLocaleString("en-US")} of ${plural(p.total_files ?? 0, "file")} · ${bytes(p.bytes_done)} of ${bytes(p.total_bytes)} · ${bytes(p.throughput_bps)}/s · ETA ${duration(p.eta_seconds)}`
        : job.status === "queued"
          ? job.accepted_at
            ? "Waiting for its turn on the agent…"
            : "Waiting for the agent…"
          : `${DOING[job.kind] ?? "Running"}…`;
    phaseLine.textContent = unknown && phase ? phase : "";
    phaseLine.hidden = !phaseLine.textContent;
    tick();
  }

  /** Once a second: the relative times and the elapsed time follow the clock. */
  function tick() {
    const now = Date.now();
    elapsed.textContent = elapsedText(job, now);
    dot.hidden = !figures.textContent || !elapsed.textContent;
    for (const t of root.querySelectorAll<HTMLTimeElement>("time[datetime]")) t.textContent = age(t.dateTime, now);
  }

  function renderResult() {
    clear(result);
    if (!TERMINAL.has(job.status)) return;
    append(result, [
      h("h2", {}, "Result"),
      job.error
        ? h("p", { class: job.status === "succeeded" ? "warn-text" : "error", role: "alert" }, job.error)
        : null,
      job.stats ? summary(job.stats, job.host_id) : h("p", { class: "muted" }, "No statistics for this job."),
      job.kind === "drill" && job.stats?.drill ? drillReport(job.stats.drill as DrillReport) : null,
    ]);
  }

  function renderPruned() {
    pruned.hidden = !job.logs_pruned_at;
    pruned.textContent = job.logs_pruned_at
      ? `This job's log was deleted on ${absolute(job.logs_pruned_at)}: the server keeps a finished job's log for RF_KEEP_JOB_LOGS_DAYS (30 days unless set). Its result is kept with the job.`
      : "";
  }

  function renderAll() {
    renderHead();
    renderProgress();
    renderResult();
    renderPruned();
  }

  async function fetchLogs() {
    for (;;) {
      const page = await api<List<LogLine>>(`/jobs/${id}/logs?after_seq=${lastSeq}&limit=1000`);
      for (const l of page.items) {
        log.append(logItem(l));
        lastSeq = Math.max(lastSeq, l.seq);
        phase = phaseText(l) ?? phase;
      }
      while (log.childElementCount > MAX_LINES) log.firstElementChild?.remove();
      if (follow.checked) log.scrollTop = log.scrollHeight;
      if (page.items.length) renderProgress();
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
    facts,
    progress,
    progressText,
    phaseLine,
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
      pruned,
      log,
    ),
  );
  renderAll();
  await fetchLogs();

  const timer = setInterval(() => (root.isConnected ? tick() : clearInterval(timer)), 1000);
  ctx.onLeave(() => clearInterval(timer));

  const pull = serial(fetchLogs);
  const refresh = serial(async () => {
    const fresh = await api<Job>(`/jobs/${id}`);
    if ((RANK[fresh.status] ?? 0) < (RANK[job.status] ?? 0)) return;
    job = fresh;
    renderAll();
  });
  handle = (e) => {
    if (e.type === "job.progress" && e.progress) {
      if (TERMINAL.has(job.status)) return;
      job = { ...job, status: "running", progress: e.progress };
      renderProgress();
    } else if (e.type === "job.log") {
      void pull();
    } else if (e.type === "job.updated" || e.type === "ready") {
      // The new status at once; the rest (times, result) with the job fetched after it.
      if (e.status && (RANK[e.status] ?? 0) >= (RANK[job.status] ?? 0) && e.status !== job.status) {
        job = { ...job, status: e.status as Job["status"] };
        renderAll();
      }
      void refresh();
      void pull();
    }
  };
  // What arrived during the first load: the job and its log again, and the newest progress.
  if (early.some((e) => e.type !== "job.progress" && e.type !== "job.log")) void refresh();
  if (early.some((e) => e.type === "job.log")) void pull();
  const progressed = early.filter((e) => e.type === "job.progress").at(-1);
  if (progressed) handle(progressed);
};
