import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { append, clear, field, h, showFormError } from "../dom.ts";
import { plural } from "../format.ts";
import { labelTags } from "../labels.ts";
import type { FleetSummary, Host, List, Policy, Repository } from "../types.ts";
import { badge, errorBox } from "../widgets.ts";
import { copyTargetFields, copyTargetText } from "./copy-target-form.ts";
import { syncText } from "./policies.ts";
import { type ScheduleDefinition, type ScheduleFields, scheduleFields } from "./schedule-form.ts";

/** How many matching host names the live preview lists before "and N more". */
const PREVIEW_NAMES = 5;
/** Wait this long after the last keystroke before asking the server which hosts match. */
const MATCH_DEBOUNCE_MS = 300;

/** "in sync", or "pending (version 7, acked 6)": what a host has acknowledged of its schedules. */
export const hostSyncText = (x: Pick<Host, "schedule_in_sync" | "schedule_version" | "acked_schedule_version">) =>
  x.schedule_in_sync ? "in sync" : `pending (version ${x.schedule_version}, acked ${x.acked_schedule_version})`;

/** The policy's conflicts: the hosts that get nothing until they are resolved. */
function conflictBanner(p: Policy) {
  if (p.conflicts.length === 0) return null;
  return h(
    "div",
    { class: "error banner", role: "alert" },
    h(
      "p",
      {},
      h("strong", {}, `Repository conflict on ${plural(p.conflicts.length, "host")}. `),
      "Policies of the same priority give them different repositories, so nothing is pushed to these hosts " +
        "until it is resolved: change a priority, a repository or a selector.",
    ),
    h(
      "ul",
      {},
      p.conflicts.map((c) =>
        h(
          "li",
          {},
          h("a", { href: `#/hosts/${c.host_id}` }, c.host_name),
          `: priority ${c.priority}, `,
          c.policies.map((o, i) => [i > 0 ? ", " : "", h("a", { href: `#/policies/${o.id}` }, o.name)]),
        ),
      ),
    ),
  );
}

/** The hosts a saved policy matches, each with its schedule sync state. */
function hostsCard(hosts: Host[]) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "ph-h" },
    h("h2", { id: "ph-h" }, "Matching hosts"),
    hosts.length === 0
      ? h("p", { class: "muted" }, "No host carries these labels yet.")
      : h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ...["Host", "Labels", "Schedules"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            hosts.map((x) =>
              h(
                "tr",
                { "data-host": x.id },
                h("th", { scope: "row" }, h("a", { href: `#/hosts/${x.id}` }, x.name)),
                h("td", { "data-label": "Labels" }, labelTags(x.labels)),
                h(
                  "td",
                  { "data-label": "Schedules" },
                  x.policy_conflict
                    ? h("span", { class: "badge badge-failed" }, "⚠ conflict")
                    : [
                        badge(x.schedule_in_sync ? "in_sync" : "not_synced"),
                        x.schedule_in_sync ? "" : ` version ${x.schedule_version}, acked ${x.acked_schedule_version}`,
                      ],
                ),
              ),
            ),
          ),
        ),
  );
}

/** #/policies/new and #/policies/:id: the policy form (read-only for viewers) and, once saved, its hosts. */
export const policyView: View = async (root, ctx, { id = "new" }) => {
  const repos = (await api<List<Repository>>("/repositories")).items;
  let policy = id === "new" ? null : await api<Policy>(`/policies/${id}`);
  let hosts = policy ? (await api<List<Host>>(`/policies/${policy.id}/hosts`)).items : [];
  let entries: Array<{ id: string | undefined; el: HTMLElement; fields: ScheduleFields }> = [];
  ctx.onLeave(() => {
    for (const e of entries) e.fields.stop();
  });

  const render = (saved: string) => {
    for (const e of entries) e.fields.stop();
    entries = [];
    clear(root);
    const p = policy;
    const readOnly = !ctx.isAdmin;

    const name = h("input", { name: "name", value: p?.name ?? "", autocomplete: "off", required: true });

    // Selector: key=value rows; the hosts matching them are counted live.
    const rows = h("div", { class: "label-rows" });
    const matchLine = h("p", { class: "match-preview", role: "status", "aria-live": "polite" });
    const selectorError = h("p", { class: "field-error", id: "selector-error", role: "alert" });
    let matchTimer: ReturnType<typeof setTimeout> | null = null;
    let asked = 0;
    const selector = () => {
      const labels: Record<string, string> = {};
      for (const row of rows.querySelectorAll<HTMLElement>(".label-row")) {
        const [k, v] = row.querySelectorAll("input");
        const key = k?.value.trim() ?? "";
        if (key) labels[key] = v?.value.trim() ?? "";
      }
      return labels;
    };
    const updateMatches = async () => {
      const ask = ++asked;
      const labels = selector();
      const q = Object.entries(labels)
        .map(([k, v]) => `label=${encodeURIComponent(`${k}=${v}`)}`)
        .join("&");
      try {
        // The count from the summary (any fleet size), the names from the first page of the list.
        const [found, counts] = await Promise.all([
          api<List<Host>>(`/hosts?limit=${PREVIEW_NAMES}${q ? `&${q}` : ""}`),
          api<FleetSummary>(`/hosts/summary${q ? `?${q}` : ""}`),
        ]);
        if (ask !== asked) return; // a newer keystroke asked again
        selectorError.textContent = "";
        const names = found.items.map((x) => x.name);
        const more = counts.total - names.length;
        matchLine.textContent =
          `${Object.keys(labels).length === 0 ? "Every host: " : ""}matches ${plural(counts.total, "host")}` +
          (names.length ? `: ${names.join(", ")}${more > 0 ? ` and ${more} more` : ""}` : "");
      } catch (err) {
        if (ask !== asked) return;
        matchLine.textContent = "";
        selectorError.textContent = err instanceof ApiFailure ? err.error.message : String(err);
      }
    };
    const matchSoon = () => {
      if (matchTimer) clearTimeout(matchTimer);
      matchTimer = setTimeout(updateMatches, MATCH_DEBOUNCE_MS);
    };
    ctx.onLeave(() => {
      if (matchTimer) clearTimeout(matchTimer);
    });
    const renumberRows = () => {
      rows.querySelectorAll<HTMLElement>(".label-row").forEach((row, i) => {
        const [k, v] = row.querySelectorAll("input");
        k?.setAttribute("aria-label", `Label key ${i + 1}`);
        v?.setAttribute("aria-label", `Label value ${i + 1}`);
        row.querySelector("button")?.setAttribute("aria-label", `Remove label ${i + 1}`);
      });
    };
    const addRow = (key = "", value = "") => {
      const k = h("input", {
        name: "label_key",
        value: key,
        placeholder: "key, e.g. env",
        autocomplete: "off",
        spellcheck: "false",
        "aria-describedby": selectorError.id,
      });
      const v = h("input", {
        name: "label_value",
        value,
        placeholder: "value, e.g. prod",
        autocomplete: "off",
        spellcheck: "false",
      });
      const row = h(
        "div",
        { class: "label-row" },
        k,
        h("span", { "aria-hidden": "true" }, "="),
        v,
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () => {
              row.remove();
              renumberRows();
              matchSoon();
            },
          },
          "Remove",
        ),
      );
      for (const input of [k, v]) input.addEventListener("input", matchSoon);
      rows.append(row);
      renumberRows();
      return k;
    };
    for (const [k, v] of Object.entries(p?.selector.labels ?? {})) addRow(k, v);
    const selectorField = h(
      "fieldset",
      { class: "field", "data-field": "selector" },
      h("legend", {}, "Selector"),
      h("p", { class: "hint" }, "Hosts carrying every one of these labels. No labels: every host."),
      rows,
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            addRow().focus();
            matchSoon();
          },
        },
        "Add label",
      ),
      matchLine,
      selectorError,
    );

    const repo = h(
      "select",
      { name: "repository_id" },
      h("option", { value: "" }, "none: hosts keep their own repository settings"),
      ...repos.map((r) => h("option", { value: r.id }, `${r.name} (${r.url})`)),
    );
    repo.value = p?.repository_id ?? "";
    const priority = h("input", { name: "priority", type: "number", step: 1, value: String(p?.priority ?? 0) });
    const offlineAge = h("input", {
      name: "max_offline_age",
      value: p?.max_offline_age ?? "",
      placeholder: "not set (7d by default)",
      autocomplete: "off",
    });
    const enabled = h("input", {
      name: "enabled",
      type: "checkbox",
      id: "policy-enabled",
      checked: p?.enabled ?? true,
    });

    // Schedules: each entry is the schedule form's own fields, scoped so `schedules.1.cron_expr` finds its box.
    const list = h("div", { class: "policy-schedules" });
    const renumber = () => {
      entries.forEach((e, i) => {
        e.el.setAttribute("data-scope", `schedules.${i}`);
        (e.el.querySelector("legend") as HTMLElement).textContent = `Schedule ${i + 1}`;
      });
      emptySchedules.hidden = entries.length > 0;
    };
    const addSchedule = (s: ScheduleDefinition | null) => {
      const fields = scheduleFields(s, "each host's local time");
      const el = h(
        "fieldset",
        { class: "policy-schedule" },
        h("legend", {}, "Schedule"),
        ...fields.nodes,
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: () => {
              fields.stop();
              entries = entries.filter((e) => e.el !== el);
              el.remove();
              renumber();
            },
          },
          "Remove schedule",
        ),
      );
      entries.push({ id: s?.id, el, fields });
      list.append(el);
      renumber();
      return el;
    };
    const emptySchedules = h("p", { class: "muted" }, "No schedules: the policy gives only its repository.");
    for (const s of p?.schedules ?? []) addSchedule(s);
    renumber();

    // Copy targets (3-2-1): each entry scoped so `copy_targets.0.schedule` finds its box.
    const copyList = h("div", { class: "policy-schedules" });
    let copies: Array<{ el: HTMLElement; body: ReturnType<typeof copyTargetFields>["body"] }> = [];
    const renumberCopies = () => {
      copies.forEach((c, i) => {
        c.el.setAttribute("data-scope", `copy_targets.${i}`);
        (c.el.querySelector("legend") as HTMLElement).textContent = `Copy target ${i + 1}`;
      });
      emptyCopies.hidden = copies.length > 0;
    };
    const addCopy = (t: Policy["copy_targets"][number] | null) => {
      const fields = copyTargetFields(t, repos);
      const el = h(
        "fieldset",
        { class: "policy-schedule" },
        h("legend", {}, "Copy target"),
        ...fields.nodes,
        h(
          "button",
          {
            type: "button",
            class: "danger",
            onclick: () => {
              copies = copies.filter((c) => c.el !== el);
              el.remove();
              renumberCopies();
            },
          },
          "Remove copy target",
        ),
      );
      copies.push({ el, body: fields.body });
      copyList.append(el);
      renumberCopies();
      return el;
    };
    const emptyCopies = h("p", { class: "muted" }, "No copy targets: the backups live in one repository only.");
    for (const t of p?.copy_targets ?? []) addCopy(t);
    renumberCopies();

    const submit = h("button", { type: "submit" }, p ? "Save policy" : "Create policy");
    const ok = h("p", { class: "ok-text", role: "status" }, saved);
    const form = h(
      "form",
      { class: "card policy-form", "aria-label": "Policy" },
      h(
        "fieldset",
        { class: "plain", disabled: readOnly },
        field("Name", name),
        selectorField,
        field("Repository", repo, "Given to matching hosts that have no repository of their own (see Repositories)."),
        field(
          "Priority",
          priority,
          "Among a host's policies, the highest priority gives its repository; a tie between different repositories is a conflict.",
        ),
        field(
          "Backups while the server is down",
          offlineAge,
          "How long its hosts' agents go on backing up on their own without the server: a duration such as " +
            "36h or 7d (10m to 365d), or 0 for never. A host's own limit wins; empty leaves it to the host's " +
            "other policies (highest priority first) or the default of 7d.",
        ),
        h("div", { class: "field inline" }, enabled, h("label", { for: enabled.id }, "enabled")),
        h(
          "div",
          { class: "field", "data-field": "schedules" },
          h("h2", {}, "Schedules"),
          emptySchedules,
          list,
          h("p", { class: "field-error", role: "alert" }),
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: () => addSchedule(null).querySelector<HTMLElement>("select")?.focus(),
            },
            "Add schedule",
          ),
        ),
        h(
          "div",
          { class: "field", "data-field": "copy_targets" },
          h("h2", {}, "Copy targets (3-2-1)"),
          h(
            "p",
            { class: "hint" },
            "A second repository each matching host's snapshots are copied to (restic copy), with its own retention.",
          ),
          emptyCopies,
          copyList,
          h("p", { class: "field-error", role: "alert" }),
          repos.length === 0
            ? h("p", { class: "muted" }, "Add a repository under Repositories first.")
            : h(
                "button",
                {
                  type: "button",
                  class: "secondary",
                  onclick: () => addCopy(null).querySelector<HTMLElement>("select")?.focus(),
                },
                "Add copy target",
              ),
        ),
      ),
      h("p", { class: "form-error", role: "alert" }),
      ok,
      readOnly
        ? h("p", { class: "muted" }, "Only admins change policies.")
        : h(
            "div",
            { class: "actions" },
            submit,
            p
              ? h(
                  "button",
                  {
                    type: "button",
                    class: "danger",
                    onclick: async () => {
                      if (
                        !confirm(
                          `Delete the policy ${p.name}? Its ${plural(p.matched_hosts, "host")} lose its schedules` +
                            (p.repository_id ? " and, unless another policy gives one, its repository." : "."),
                        )
                      )
                        return;
                      try {
                        await api(`/policies/${p.id}`, "DELETE");
                        ctx.go("#/policies");
                      } catch (err) {
                        showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
                      }
                    },
                  },
                  "Delete policy",
                )
              : null,
            h("a", { class: "button secondary", href: "#/policies" }, "Cancel"),
          ),
    );

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      ok.textContent = "";
      for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
      submit.disabled = true;
      try {
        // Inside the try: a schedule's body can refuse its own input (a command with an open quote).
        const body = {
          name: name.value.trim(),
          selector: { labels: selector() },
          repository_id: repo.value || null,
          priority: Number(priority.value || 0),
          enabled: enabled.checked,
          schedules: entries.map((x) => ({ ...(x.id ? { id: x.id } : {}), ...x.fields.body() })),
          copy_targets: copies.map((c) => c.body()),
          max_offline_age: offlineAge.value.trim() || null,
        };
        const wasNew = !policy;
        policy = p
          ? await api<Policy>(`/policies/${p.id}`, "PATCH", body)
          : await api<Policy>("/policies", "POST", body);
        hosts = (await api<List<Host>>(`/policies/${policy.id}/hosts`)).items;
        const done = `Saved: ${syncText(policy)}; the matching hosts are sent the change.`;
        if (wasNew) history.replaceState(null, "", `#/policies/${policy.id}`);
        render(done);
      } catch (err) {
        const error: { message: string; path?: string } =
          err instanceof ApiFailure ? err.error : { message: String(err) };
        showFormError(form, error);
        // selector.labels.<key>: mark the row of that key.
        const bad = error.path?.startsWith("selector.labels.") ? error.path.slice("selector.labels.".length) : null;
        for (const input of rows.querySelectorAll<HTMLInputElement>('input[name="label_key"]')) {
          if (bad !== null && input.value.trim() === bad) {
            input.setAttribute("aria-invalid", "true");
            input.focus();
          }
        }
      } finally {
        submit.disabled = false;
      }
    });

    append(root, [
      h("p", { class: "crumbs" }, h("a", { href: "#/policies" }, "Policies"), " / ", p ? p.name : "new"),
      h("h1", { tabindex: "-1" }, p ? `Policy ${p.name}` : "New policy"),
      p
        ? h(
            "p",
            { class: "facts" },
            `${syncText(p)} · ${plural(p.schedules.length, "schedule")} · ${plural(p.copy_targets.length, "copy target")} · `,
            p.enabled ? "enabled" : "disabled",
            p.max_offline_age === null
              ? ""
              : p.max_offline_age === "0"
                ? " · its hosts never back up without the server"
                : ` · backs up without the server for up to ${p.max_offline_age}`,
          )
        : null,
      p && p.copy_targets.length > 0
        ? h(
            "ul",
            { class: "copy-targets", "aria-label": "Copy targets" },
            p.copy_targets.map((t) =>
              h(
                "li",
                {},
                copyTargetText(t, (rid) => repos.find((r) => r.id === rid)?.name ?? rid),
              ),
            ),
          )
        : null,
      p ? conflictBanner(p) : null,
      form,
      p ? hostsCard(hosts) : null,
    ]);
    void updateMatches();
  };

  try {
    render("");
  } catch (err) {
    root.append(errorBox(String(err)));
  }
};
