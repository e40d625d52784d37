import { ApiFailure, api, type Me, setCsrf, setOnUnauthorized } from "./api.ts";
import type { Ctx, View } from "./context.ts";
import { append, clear, h } from "./dom.ts";
import { connectEvents, disconnectEvents } from "./events.ts";
import { alertsView } from "./views/alerts.ts";
import { auditView } from "./views/audit.ts";
import { channelsView } from "./views/channels.ts";
import { dashboardView } from "./views/dashboard.ts";
import { enrollView } from "./views/enroll.ts";
import { hostView } from "./views/host.ts";
import { jobView } from "./views/job.ts";
import { jobsView } from "./views/jobs.ts";
import { loginView } from "./views/login.ts";
import { policiesView } from "./views/policies.ts";
import { policyView } from "./views/policy-form.ts";
import { repositoriesView } from "./views/repositories.ts";
import { tokensView } from "./views/tokens.ts";
import { usersView } from "./views/users.ts";

const routes: Array<[RegExp, View, string[]]> = [
  [/^#?\/?(?:\?(.*))?$/, dashboardView, ["query"]],
  [/^#\/hosts\/([^/]+)$/, hostView, ["id"]],
  [/^#\/jobs(?:\?(.*))?$/, jobsView, ["query"]],
  [/^#\/jobs\/([^/]+)$/, jobView, ["id"]],
  [/^#\/policies$/, policiesView, []],
  [/^#\/policies\/([^/]+)$/, policyView, ["id"]],
  [/^#\/repositories$/, repositoriesView, []],
  [/^#\/alerts(?:\?(.*))?$/, alertsView, ["query"]],
  [/^#\/channels$/, channelsView, []],
  [/^#\/enroll$/, enrollView, []],
  [/^#\/users$/, usersView, []],
  [/^#\/tokens$/, tokensView, []],
  [/^#\/audit$/, auditView, []],
];

let me: Me | null = null;
let leaving: Array<() => void> = [];
const main = () => document.getElementById("main") as HTMLElement;
const nav = () => document.getElementById("nav") as HTMLElement;

function renderNav() {
  const el = nav();
  clear(el);
  if (!me) return;
  const link = (hash: string, text: string) =>
    h(
      "a",
      {
        href: hash,
        "aria-current":
          location.hash === hash ||
          (hash === "#/" && (!location.hash || location.hash.startsWith("#/?"))) ||
          (hash !== "#/" && (location.hash.startsWith(`${hash}/`) || location.hash.startsWith(`${hash}?`)))
            ? "page"
            : undefined,
      },
      text,
    );
  append(el, [
    link("#/", "Fleet"),
    link("#/jobs", "Jobs"),
    link("#/alerts", "Alerts"),
    link("#/policies", "Policies"),
    link("#/repositories", "Repositories"),
    link("#/channels", "Channels"),
    me.user.role === "admin" ? link("#/enroll", "Add hosts") : null,
    me.user.role === "admin" ? link("#/users", "Users") : null,
    me.user.role === "admin" ? link("#/tokens", "Tokens") : null,
    me.user.role === "admin" ? link("#/audit", "Audit log") : null,
    h("span", { class: "spacer" }),
    h("span", { class: "who" }, `${me.user.username} (${me.user.role})`),
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: async () => {
          await api("/session", "DELETE").catch(() => {});
          me = null;
          disconnectEvents();
          route();
        },
      },
      "Log out",
    ),
  ]);
}

async function route() {
  for (const fn of leaving) fn();
  leaving = [];
  // Each navigation renders into a container of its own: a view still loading when the address
  // changes again (two quick clicks) then writes into a detached one, not over the next view.
  const root = h("div", { class: "view" });
  clear(main());
  main().append(root);
  if (!me) {
    renderNav();
    loginView(root, async (session) => {
      me = session;
      setCsrf(session.csrf_token);
      connectEvents();
      await route();
    });
    return;
  }
  renderNav();
  const hash = location.hash || "#/";
  for (const [re, view, names] of routes) {
    const m = re.exec(hash);
    if (!m) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? "")]));
    const ctx: Ctx = {
      me,
      isAdmin: me.user.role === "admin",
      go: (to) => {
        location.hash = to;
      },
      onLeave: (fn) => leaving.push(fn),
    };
    try {
      await view(root, ctx, params);
      root.querySelector<HTMLElement>("h1")?.focus();
    } catch (err) {
      const message = err instanceof ApiFailure ? err.error.message : String(err);
      clear(root);
      root.append(
        h("h1", { tabindex: "-1" }, "Something went wrong"),
        h("p", { class: "error", role: "alert" }, message),
      );
    }
    return;
  }
  root.append(h("h1", { tabindex: "-1" }, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the fleet")));
}

async function start() {
  setOnUnauthorized(() => {
    if (!me) return;
    me = null;
    disconnectEvents();
    void route();
  });
  try {
    // ?optional=1: not logged in is {user: null}, not a 401 in the console on every visit.
    const probe = await api<Me | { user: null }>("/session?optional=1");
    me = probe.user ? (probe as Me) : null;
    if (me) {
      setCsrf(me.csrf_token);
      connectEvents();
    }
  } catch {
    me = null;
  }
  window.addEventListener("hashchange", () => void route());
  await route();
}

void start();
