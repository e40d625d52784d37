import { api } from "../api.ts";
import type { Ctx } from "../context.ts";
import { clear, field, h } from "../dom.ts";
import { onEvent } from "../events.ts";
import { absolute } from "../format.ts";
import type { Host, Job, Snapshot } from "../types.ts";
import { errorBox, failureText, formActions } from "../widgets.ts";
import { snapshotDiff } from "./snapshot-diff.ts";

/** The system's own tags (protocol/checks.ts RESERVED_TAG_PREFIX): shown, never edited. */
const RESERVED = "fleet-";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/**
 * The snapshot list's actions: Compare (tick two rows, anyone), and for admins Forget… (a confirm
 * dialog; a job, not pruned) and Tags… (a dialog; a job, after which the snapshot has a new id).
 * host.ts puts row(s) in each row's actions cell, bar() under the table, and box below the list.
 */
export function snapshotActions(ctx: Ctx, host: Host) {
  let list: Snapshot[] = [];
  let picked: string[] = [];
  const barBox = h("div", { class: "compare-bar", "aria-live": "polite" });
  const status = h("div", { class: "snapshot-status", "aria-live": "polite" });
  const diffBox = h("div", {});
  const box = h("div", {}, status, diffBox);
  const base = `/hosts/${encodeURIComponent(host.id)}/snapshots`;
  const label = (s: Snapshot) => `${s.short_id} (${absolute(s.time)})`;

  function renderBar() {
    clear(barBox);
    const chosen = picked.map((id) => list.find((s) => s.id === id)).filter((s): s is Snapshot => !!s);
    const go = h(
      "button",
      { type: "button", class: "secondary", disabled: chosen.length !== 2, onclick: () => compare(chosen) },
      "Compare",
    );
    const text =
      chosen.length === 2
        ? `Compare ${chosen[0]?.short_id} with ${chosen[1]?.short_id}.`
        : `Tick two snapshots to compare them (${chosen.length} of 2).`;
    barBox.append(h("p", { class: "muted" }, text), go);
  }

  function pick(s: Snapshot, on: boolean) {
    picked = picked.filter((id) => id !== s.id);
    if (on) picked = [...picked, s.id].slice(-2);
    for (const el of document.querySelectorAll<HTMLInputElement>("input[data-compare]")) {
      el.checked = picked.includes(el.getAttribute("data-compare") ?? "");
    }
    renderBar();
  }

  function compare(pair: Snapshot[]) {
    const [from, to] = [...pair].sort((x, y) => x.time.localeCompare(y.time)) as [Snapshot, Snapshot];
    clear(diffBox);
    diffBox.append(snapshotDiff({ host, from, to, close: () => clear(diffBox) }));
    diffBox.querySelector("h2")?.scrollIntoView({ block: "start" });
  }

  /** The job's outcome in the status line, once it ends (the list itself follows the report). */
  function follow(job: Job, what: string, done: (j: Job) => string) {
    clear(status);
    status.append(
      h(
        "p",
        { class: "muted" },
        `${what}: `,
        h("a", { href: `#/jobs/${job.id}` }, `job ${job.id.slice(-6)}`),
        " started.",
      ),
    );
    const stop = onEvent(async (e) => {
      if (e.job_id !== job.id || !TERMINAL.has(e.status ?? "")) return;
      stop();
      const j = await api<Job>(`/jobs/${job.id}`);
      clear(status);
      status.append(
        j.status === "succeeded"
          ? h("p", { class: "ok-note" }, done(j))
          : errorBox(`${what} ${j.status}: ${j.error ?? "see the job's log"}`),
      );
    });
    ctx.onLeave(stop);
  }

  function dialog(title: string, ...body: Array<HTMLElement | null>): HTMLDialogElement {
    const d = h(
      "dialog",
      { class: "confirm-dialog", "aria-labelledby": "snap-dialog-h" },
      h("h2", { id: "snap-dialog-h", class: "dialog-title" }, title),
      ...body,
    );
    d.addEventListener("close", () => d.remove());
    document.body.append(d);
    d.showModal();
    return d;
  }

  function forget(s: Snapshot) {
    const err = h("div", { class: "form-error", role: "alert" });
    const submit = h("button", { type: "submit", class: "danger" }, "Forget snapshot");
    const form = h(
      "form",
      {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          submit.setAttribute("disabled", "");
          try {
            const job = await api<Job>(`${base}/${s.id}/forget`, "POST");
            d.close();
            picked = picked.filter((id) => id !== s.id);
            renderBar();
            follow(
              job,
              `Forget ${s.short_id}`,
              () => `Snapshot ${s.short_id} was forgotten. The space is freed by the next prune.`,
            );
          } catch (error) {
            submit.removeAttribute("disabled");
            err.textContent = failureText(error);
          }
        },
      },
      h(
        "p",
        {},
        `Snapshot ${label(s)} of ${host.name}, with ${s.paths.join(", ")}`,
        s.tags.length ? `, tagged ${s.tags.join(", ")}` : "",
        ", is removed from the repository.",
      ),
      h("p", { class: "danger-note" }, "This cannot be undone. The space is freed by the next prune."),
      err,
      formActions(submit, () => d.close()),
    );
    const d = dialog(`Forget snapshot ${s.short_id}?`, form);
  }

  function tags(s: Snapshot) {
    const own = s.tags.filter((t) => !t.startsWith(RESERVED));
    const kept = s.tags.filter((t) => t.startsWith(RESERVED));
    const input = h("input", { name: "set", value: own.join(", "), autocomplete: "off", spellcheck: "false" });
    const err = h("div", { class: "form-error", role: "alert" });
    const submit = h("button", { type: "submit" }, "Save tags");
    const form = h(
      "form",
      {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const set = [
            ...new Set(
              input.value
                .split(",")
                .map((t) => t.trim())
                .filter(Boolean),
            ),
          ];
          submit.setAttribute("disabled", "");
          try {
            const job = await api<Job>(`${base}/${s.id}/tags`, "POST", { set });
            d.close();
            follow(job, `Tags of ${s.short_id}`, (j) => {
              const now = typeof j.stats?.snapshot_id === "string" ? j.stats.snapshot_id.slice(0, 8) : null;
              return now && now !== s.short_id
                ? `Tags saved. restic rewrote the snapshot: ${s.short_id} is now ${now}.`
                : "Tags saved.";
            });
          } catch (error) {
            submit.removeAttribute("disabled");
            err.textContent = failureText(error);
          }
        },
      },
      field("Tags, separated by commas", input, "An empty field removes every tag but the system's."),
      kept.length ? h("p", { class: "muted" }, `Kept as they are (Restic Fleet's own): ${kept.join(", ")}.`) : null,
      h("p", { class: "muted" }, "Saving writes the snapshot anew, so its ID changes."),
      err,
      formActions(submit, () => d.close()),
    );
    const d = dialog(`Tags of snapshot ${s.short_id}`, form);
    input.focus();
  }

  return {
    box,
    /** The row's controls: the compare tick for everyone, Forget… and Tags… for admins. */
    row(s: Snapshot) {
      return [
        h(
          "label",
          { class: "compare-pick" },
          h("input", {
            type: "checkbox",
            "data-compare": s.id,
            checked: picked.includes(s.id),
            onchange: (e: Event) => pick(s, (e.target as HTMLInputElement).checked),
          }),
          " Compare",
        ),
        ctx.isAdmin ? h("button", { type: "button", class: "secondary", onclick: () => tags(s) }, "Tags…") : null,
        ctx.isAdmin
          ? h("button", { type: "button", class: "secondary danger", onclick: () => forget(s) }, "Forget…")
          : null,
      ];
    },
    /** The compare bar under the table, for the current list (ticks of gone snapshots dropped). */
    bar(snapshots: Snapshot[]) {
      list = snapshots;
      picked = picked.filter((id) => list.some((s) => s.id === id));
      renderBar();
      return barBox;
    },
  };
}
