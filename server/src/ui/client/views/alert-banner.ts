import { api } from "../api.ts";
import type { Ctx } from "../context.ts";
import { clear, h } from "../dom.ts";
import { onEvent } from "../events.ts";
import { plural } from "../format.ts";
import type { Alert, List } from "../types.ts";
import { ago } from "../widgets.ts";
import { conditionText } from "./alert-common.ts";

/**
 * 60 s: alerts that come from time alone (stale, offline) change on the server's sweep, which
 * publishes no event; a minute matches how often the sweep runs.
 */
const REFRESH_MS = 60_000;
/** Coalesce a burst of host and job events (a fleet reconnecting) into one request. */
const EVENT_DEBOUNCE_MS = 500;

/**
 * The firing alerts, compact: on the dashboard one line ("3 alerts firing on 2 hosts", linked to
 * #/alerts), on a host's page (`hostId`) that host's alerts, one line each. Empty (and hidden)
 * while nothing fires. Fills itself and follows the event stream until the view is left.
 */
export function alertBanner(ctx: Ctx, hostId?: string): HTMLElement {
  const box = h("div", { class: "alert-banner", role: "status", "aria-live": "polite", hidden: true });
  const load = async () => {
    const q = hostId ? `&host_id=${encodeURIComponent(hostId)}` : "";
    let page: List<Alert>;
    try {
      page = await api<List<Alert>>(`/alerts?state=firing&limit=1000${q}`);
    } catch {
      return; // the banner is a hint; the page itself shows why the server cannot be reached
    }
    const items = page.items;
    clear(box);
    box.hidden = items.length === 0;
    if (items.length === 0) return;
    // Past one page (1,000 firing), the counts are of the newest 1,000 and say so.
    box.append(hostId ? hostAlerts(items, hostId) : fleetLine(items, page.next_cursor !== null));
  };
  let timer: ReturnType<typeof setTimeout> | null = null;
  ctx.onLeave(
    onEvent((e) => {
      if (e.type !== "host.updated" && e.type !== "job.updated") return;
      if (hostId && e.host_id !== hostId) return;
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        void load();
      }, EVENT_DEBOUNCE_MS);
    }),
  );
  const tick = setInterval(() => void load(), REFRESH_MS);
  ctx.onLeave(() => {
    clearInterval(tick);
    if (timer) clearTimeout(timer);
  });
  void load();
  return box;
}

function fleetLine(items: Alert[], more: boolean) {
  const hosts = new Set(items.map((a) => a.host_id)).size;
  const counts = new Map<string, number>();
  for (const a of items) counts.set(a.condition, (counts.get(a.condition) ?? 0) + 1);
  return h(
    "p",
    { class: "alert-line" },
    h("strong", { "aria-hidden": "true" }, "⚠ "),
    h("a", { href: "#/alerts", class: "alert-count" }, `${more ? "over " : ""}${plural(items.length, "alert")} firing`),
    ` on ${more ? "at least " : ""}${plural(hosts, "host")}${more ? " (the newest 1,000 counted)" : ""}: `,
    [...counts].map(([c, n], i) => `${i > 0 ? ", " : ""}${n} ${conditionText(c)}`).join(""),
  );
}

function hostAlerts(items: Alert[], hostId: string) {
  return h(
    "div",
    { class: "alert-host" },
    h(
      "p",
      { class: "alert-line" },
      h("strong", {}, `⚠ ${plural(items.length, "alert")} firing`),
      " · ",
      h("a", { href: `#/alerts?host_id=${encodeURIComponent(hostId)}` }, "see or mute on the Alerts page"),
    ),
    h(
      "ul",
      {},
      items.map((a) =>
        h(
          "li",
          { "data-alert": a.id },
          h("strong", {}, conditionText(a.condition)),
          `: ${a.summary} `,
          h("span", { class: "muted" }, "(since ", ago(a.started_at), ")"),
        ),
      ),
    ),
  );
}
