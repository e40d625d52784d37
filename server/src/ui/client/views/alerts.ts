import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { append, clear, h } from "../dom.ts";
import { labelQuery, parseLabelText } from "../labels.ts";
import { listPager, loadMoreButton, olderBy } from "../pager.ts";
import type { Alert, List, Mute } from "../types.ts";
import { ago, emptyState, errorBox } from "../widgets.ts";
import { activeMutes, CONDITIONS, conditionText, muteCovers, muteScope } from "./alert-common.ts";
import { muteForm } from "./mute-form.ts";

type State = "firing" | "resolved";
/** Alerts a page ("Load more" for older ones); the firing count reads up to FIRING_COUNTED. */
const PAGE = 100;
const FIRING_COUNTED = 1000;

/**
 * #/alerts: firing alerts (or resolved ones), newest first, paged with "Load more", filtered on the
 * server by label (`?label=`) and by condition; admins mute a host or its labels from a row, and end mutes in the list below. The
 * filters live in the hash (`#/alerts?state=resolved&label=env=prod&condition=backup_stale`), so
 * a filtered view can be linked, as the host page links its own alerts.
 */
export const alertsView: View = async (root, ctx, { query = "" }) => {
  const params = new URLSearchParams(query);
  let state: State = params.get("state") === "resolved" ? "resolved" : "firing";
  const hostId = params.get("host_id") ?? "";
  const labels = h("input", {
    type: "search",
    name: "label",
    placeholder: "env=prod role=db",
    "aria-label": "Filter by labels",
    autocomplete: "off",
    value: params.get("label") ?? "",
  });
  const labelError = h("p", { class: "field-error", role: "alert" });
  const condition = h(
    "select",
    { name: "condition", "aria-label": "Show alerts of condition" },
    h("option", { value: "" }, "every condition"),
    CONDITIONS.map((c) => h("option", { value: c }, conditionText(c))),
  );
  condition.value = params.get("condition") ?? "";
  const tabs = h("div", { class: "tabs", role: "group", "aria-label": "Alert state" });
  const notice = h("div", { "aria-live": "polite" });
  const table = h("div", {});
  const editor = h("div", {});
  const mutesBox = h("section", { class: "card", "aria-labelledby": "mutes-h" });
  // The list's filters; the firing count leaves the condition out ("Firing (12)" is every condition's).
  const filters = (withCondition: boolean) =>
    [
      labelQuery(labels.value),
      hostId ? `host_id=${encodeURIComponent(hostId)}` : "",
      withCondition && condition.value ? `condition=${encodeURIComponent(condition.value)}` : "",
    ]
      .filter(Boolean)
      .join("&");
  const alerts = listPager<Alert>(
    "/alerts",
    () => [`state=${state}`, filters(true)].filter(Boolean).join("&"),
    PAGE,
    olderBy((a) => a.started_at),
  );
  let firingCount = "0";
  let mutes: Mute[] = [];
  const hostNames = new Map<string, string>();

  const fail = (err: unknown) => {
    clear(notice);
    notice.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
  };
  const keepInHash = () => {
    const q = new URLSearchParams();
    if (state !== "firing") q.set("state", state);
    if (hostId) q.set("host_id", hostId);
    if (labels.value.trim()) q.set("label", labels.value.trim());
    if (condition.value) q.set("condition", condition.value);
    const s = q.toString();
    history.replaceState(null, "", `#/alerts${s ? `?${s}` : ""}`);
  };

  const load = async () => {
    const parsed = parseLabelText(labels.value);
    if (!parsed.ok) {
      labelError.textContent = parsed.message;
      labels.setAttribute("aria-invalid", "true");
      return;
    }
    const q = filters(false);
    try {
      const [firing, m] = await Promise.all([
        api<List<Alert>>(`/alerts?state=firing&limit=${FIRING_COUNTED}${q ? `&${q}` : ""}`),
        api<List<Mute>>("/mutes"),
        alerts.reload(),
      ]);
      firingCount = `${firing.items.length}${firing.next_cursor ? "+" : ""}`;
      mutes = m.items;
      for (const a of alerts.items) hostNames.set(a.host_id, a.host_name);
      labelError.textContent = "";
      labels.removeAttribute("aria-invalid");
    } catch (err) {
      if (err instanceof ApiFailure && err.error.path === "label") {
        labelError.textContent = err.error.message;
        labels.setAttribute("aria-invalid", "true");
        return;
      }
      throw err;
    }
    render();
  };

  const render = () => {
    clear(tabs);
    for (const [s, text] of [
      ["firing", `Firing (${firingCount})`],
      ["resolved", "Resolved"],
    ] as const) {
      tabs.append(
        h(
          "button",
          {
            type: "button",
            class: s === state ? "tab" : "tab secondary",
            "aria-pressed": String(s === state),
            onclick: () => {
              state = s;
              keepInHash();
              void load().catch(fail);
            },
          },
          text,
        ),
      );
    }
    renderTable();
    renderMutes();
  };

  const renderTable = () => {
    clear(table);
    const shown = alerts.items;
    if (shown.length === 0) {
      const filtered = labels.value.trim() || condition.value || hostId;
      table.append(
        emptyState(
          state === "firing"
            ? filtered
              ? "Nothing firing under these filters."
              : "Nothing firing: every host is fine."
            : "No resolved alerts under these filters.",
        ),
      );
      return;
    }
    const active = activeMutes(mutes);
    table.append(
      h(
        "table",
        { class: "alerts" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Condition", "Host", "Summary", "Started", "Resolved", ""].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h(
          "tbody",
          {},
          shown.map((a) => {
            const mute = active.find((m) => muteCovers(m, a.host_id, a.labels));
            return h(
              "tr",
              { "data-alert": a.id, class: a.state === "firing" ? "alert-firing" : undefined },
              h(
                "th",
                { scope: "row" },
                h(
                  "span",
                  { class: `badge ${a.state === "firing" ? "badge-failed" : "badge-ok"}` },
                  conditionText(a.condition),
                ),
              ),
              h("td", { "data-label": "Host" }, h("a", { href: `#/hosts/${a.host_id}` }, a.host_name)),
              h("td", { "data-label": "Summary", class: "alert-summary" }, a.summary),
              h("td", { "data-label": "Started" }, ago(a.started_at)),
              h(
                "td",
                { "data-label": "Resolved" },
                a.resolved_at ? ago(a.resolved_at) : h("span", { class: "muted" }, "firing"),
              ),
              h(
                "td",
                { class: "actions" },
                mute
                  ? h(
                      "span",
                      { class: "badge badge-muted", title: `Muted: ${mute.reason}` },
                      "⊘ muted, ends ",
                      ago(mute.until),
                    )
                  : null,
                ctx.isAdmin && a.state === "firing"
                  ? h("button", { type: "button", class: "secondary", onclick: () => openMute(a) }, "Mute…")
                  : null,
              ),
            );
          }),
        ),
      ),
    );
    append(table, [
      loadMoreButton(
        alerts,
        () => {
          for (const a of alerts.items) hostNames.set(a.host_id, a.host_name);
          renderTable();
        },
        fail,
      ),
    ]);
  };

  const openMute = (a: Alert) => {
    clear(editor);
    clear(notice);
    editor.append(
      muteForm(a, async (muted) => {
        clear(editor);
        if (muted) {
          await load();
          notice.append(h("p", { class: "ok-text", role: "status" }, `Muted: ${a.host_name}.`));
        }
      }),
    );
    editor.scrollIntoView({ block: "nearest" });
    editor.querySelector<HTMLInputElement>('input[name="reason"]')?.focus();
  };

  const renderMutes = () => {
    clear(mutesBox);
    const active = activeMutes(mutes);
    mutesBox.append(h("h2", { id: "mutes-h" }, "Active mutes"));
    if (active.length === 0) {
      mutesBox.append(h("p", { class: "muted" }, "None: every alert is notified."));
      return;
    }
    mutesBox.append(
      h(
        "table",
        { class: "mutes" },
        h("thead", {}, h("tr", {}, ...["Mutes", "Until", "Reason", "By", ""].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          active.map((m) =>
            h(
              "tr",
              { "data-mute": m.id },
              h(
                "th",
                { scope: "row" },
                muteScope(m, (id) => hostNames.get(id) ?? id),
              ),
              h("td", { "data-label": "Until" }, ago(m.until)),
              h("td", { "data-label": "Reason", class: "mute-reason" }, m.reason),
              h("td", { "data-label": "By" }, m.created_by, " ", h("span", { class: "muted" }, ago(m.created_at))),
              h(
                "td",
                { class: "actions" },
                ctx.isAdmin
                  ? h(
                      "button",
                      {
                        type: "button",
                        class: "secondary",
                        onclick: async () => {
                          try {
                            await api(`/mutes/${m.id}`, "DELETE");
                            clear(notice);
                            await load();
                          } catch (err) {
                            fail(err);
                          }
                        },
                      },
                      "End mute",
                    )
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  };

  labels.addEventListener("change", () => {
    keepInHash();
    void load().catch(fail);
  });
  condition.addEventListener("change", () => {
    keepInHash();
    void load().catch(fail);
  });

  // Names for mutes of hosts with no alert listed (and the host filtered on): each asked for alone,
  // not a list of the whole fleet. A host gone since keeps its id.
  await load();
  const unnamed = [...new Set([...mutes.map((m) => m.host_id), hostId || null])].filter(
    (id): id is string => typeof id === "string" && !hostNames.has(id),
  );
  await Promise.all(
    unnamed.slice(0, 50).map((id) =>
      api<{ id: string; name: string }>(`/hosts/${encodeURIComponent(id)}`).then(
        (x) => hostNames.set(x.id, x.name),
        () => {},
      ),
    ),
  );
  renderMutes();

  append(root, [
    h(
      "div",
      { class: "page-head" },
      h("h1", { tabindex: "-1" }, "Alerts"),
      h("a", { href: "#/channels" }, "Channels and rules"),
    ),
    h(
      "p",
      { class: "muted" },
      "An alert fires while its condition holds for a host and resolves when it stops. " +
        "Rules decide which channels are told; a mute holds their messages back, not the alert.",
    ),
    hostId
      ? h(
          "p",
          { class: "filter-note" },
          `Only ${hostNames.get(hostId) ?? hostId}. `,
          h("a", { href: "#/alerts" }, "Show every host"),
        )
      : null,
    tabs,
    h("div", { class: "toolbar" }, labels, condition),
    labelError,
    notice,
    table,
    editor,
    mutesBox,
  ]);
  // Ages and the end of mutes move on screen: re-render every 30 s (no request).
  const tick = setInterval(() => {
    renderTable();
    renderMutes();
  }, 30_000);
  ctx.onLeave(() => clearInterval(tick));
};
