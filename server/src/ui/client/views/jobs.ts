import { ApiFailure } from "../api.ts";
import type { View } from "../context.ts";
import { append, clear, h } from "../dom.ts";
import { onEvent } from "../events.ts";
import { labelQuery, parseLabelText } from "../labels.ts";
import { loadMoreButton } from "../pager.ts";
import { runChart } from "../run-chart.ts";
import { errorBox } from "../widgets.ts";
import { hostPicker } from "./host-picker.ts";
import { jobPager, jobTable } from "./job-list.ts";

const KINDS = ["backup", "check", "drill", "forget", "prune", "restore", "init", "unlock"];
const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];
/** Who made a job (GET /jobs?actor_kind=): "agent" is a backup its agent ran while the server was away. */
const ACTORS: Array<[string, string]> = [
  ["user", "by a user"],
  ["schedule", "by a schedule"],
  ["system", "by the server"],
  ["agent", "ran while the server was away"],
];
const PAGE = 50;

/** A local date (yyyy-mm-dd) as the ISO time of its midnight, `days` later. */
const midnight = (date: string, days = 0) => {
  const d = new Date(`${date}T00:00:00`);
  d.setDate(d.getDate() + days);
  return d.toISOString();
};

const select = (name: string, label: string, every: string, values: Array<[string, string]>, value: string) => {
  const el = h(
    "select",
    { name, "aria-label": label },
    h("option", { value: "" }, every),
    values.map(([v, text]) => h("option", { value: v }, text)),
  );
  el.value = value;
  return el;
};

/**
 * #/jobs: every host's jobs, newest first, filtered on the server by host, labels, kind, status, who
 * made them (a user, a schedule, the server, the agent on its own while the server was away) and
 * dates (from and to, both days included), paged with "Load more". The filters live in the hash
 * (`#/jobs?kind=backup&status=failed&label=env=prod&from=2026-12-01`), so a view can be shared and
 * survives a reload.
 */
export const jobsView: View = async (root, ctx, { query = "" }) => {
  const params = new URLSearchParams(query);
  const picker = hostPicker({
    name: "host_id",
    label: "Host",
    every: "every host",
    value: params.get("host_id") ?? "",
  });
  const host = picker.input;
  const labels = h("input", {
    type: "search",
    name: "label",
    placeholder: "env=prod role=db",
    "aria-label": "Filter by labels",
    autocomplete: "off",
    value: params.get("label") ?? "",
  });
  const kind = select(
    "kind",
    "Kind",
    "every kind",
    KINDS.map((k) => [k, k]),
    params.get("kind") ?? "",
  );
  const status = select(
    "status",
    "Status",
    "every status",
    STATUSES.map((k) => [k, k]),
    params.get("status") ?? "",
  );
  const actor = select("actor_kind", "Made by", "made by anyone", ACTORS, params.get("actor_kind") ?? "");
  const from = h("input", { type: "date", name: "from", value: params.get("from") ?? "" });
  const to = h("input", { type: "date", name: "to", title: "this day included", value: params.get("to") ?? "" });
  const filterError = h("p", { class: "field-error", role: "alert" });
  const notice = h("div", { "aria-live": "polite" });
  const table = h("div", {});

  const apiQuery = () =>
    [
      host.value ? `host_id=${encodeURIComponent(host.value)}` : "",
      labelQuery(labels.value),
      kind.value ? `kind=${kind.value}` : "",
      status.value ? `status=${status.value}` : "",
      actor.value ? `actor_kind=${actor.value}` : "",
      from.value ? `since=${encodeURIComponent(midnight(from.value))}` : "",
      to.value ? `until=${encodeURIComponent(midnight(to.value, 1))}` : "",
    ]
      .filter(Boolean)
      .join("&");
  const pager = jobPager(apiQuery, PAGE);

  const keepInHash = () => {
    const q = new URLSearchParams();
    for (const el of [host, kind, status, actor, from, to]) if (el.value) q.set(el.name, el.value);
    if (labels.value.trim()) q.set("label", labels.value.trim());
    const s = q.toString();
    history.replaceState(null, "", `#/jobs${s ? `?${s}` : ""}`);
  };
  const fail = (err: unknown) => {
    clear(notice);
    notice.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
  };
  const render = () => {
    clear(table);
    const filtered =
      host.value || labels.value.trim() || kind.value || status.value || actor.value || from.value || to.value;
    // One host's jobs are its timeline: drawn as on its page, over the rows loaded.
    if (host.value && pager.items.length) table.append(runChart(pager.items, table.clientWidth || root.clientWidth));
    table.append(
      jobTable(pager.items, {
        host: true,
        empty: filtered ? "No jobs under these filters." : "No jobs yet: they appear when a schedule fires.",
      }),
    );
    append(table, [loadMoreButton(pager, render, fail)]);
  };
  const load = async () => {
    clear(notice);
    filterError.textContent = "";
    for (const el of [labels, from, to]) el.removeAttribute("aria-invalid");
    const parsed = parseLabelText(labels.value);
    if (!parsed.ok) {
      filterError.textContent = parsed.message;
      labels.setAttribute("aria-invalid", "true");
      return;
    }
    try {
      await pager.reload();
    } catch (err) {
      // A bad label or an empty range: said next to the filters, by the field the server names.
      const path = err instanceof ApiFailure ? err.error.path : undefined;
      if (path === "label" || path === "since" || path === "until") {
        filterError.textContent = path === "until" ? "“To” must not be before “From”." : failureMessage(err);
        (path === "label" ? labels : path === "since" ? from : to).setAttribute("aria-invalid", "true");
        clear(table);
        return;
      }
      throw err;
    }
    render();
  };
  for (const el of [host, labels, kind, status, actor, from, to]) {
    el.addEventListener("change", () => {
      keepInHash();
      void load().catch(fail);
    });
  }

  await load();
  append(root, [
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Jobs")),
    h(
      "p",
      { class: "muted" },
      "Every host's jobs, newest first. Filters narrow the list on the server; the address keeps them, to share a view.",
    ),
    h(
      "div",
      { class: "toolbar jobs-filters", role: "group", "aria-label": "Filters" },
      picker.el,
      labels,
      kind,
      status,
      actor,
      h("label", { class: "date-filter" }, "From ", from),
      h("label", { class: "date-filter" }, "To ", to),
    ),
    filterError,
    notice,
    table,
  ]);

  // A job made or finished anywhere: re-read the first page, keeping the pages loaded below it.
  let busy = false;
  let again = false;
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    do {
      again = false;
      await pager.refresh().then(render, () => {});
    } while (again);
    busy = false;
  };
  ctx.onLeave(
    onEvent((e) => {
      if (e.type === "job.updated") void refresh();
    }),
  );
};

const failureMessage = (err: unknown) => (err instanceof ApiFailure ? err.error.message : String(err));
