import { api } from "../api.ts";
import type { View } from "../context.ts";
import { h } from "../dom.ts";
import { plural } from "../format.ts";
import { labelTags } from "../labels.ts";
import type { List, Policy, Repository } from "../types.ts";
import { emptyState } from "../widgets.ts";
import { scheduleLine } from "./host-schedules.ts";

/** "12 of 14 in sync", or "no hosts": of the hosts a policy matches, those that acked their schedules. */
export const syncText = (p: Pick<Policy, "matched_hosts" | "hosts_in_sync">) =>
  p.matched_hosts === 0 ? "no hosts" : `${p.hosts_in_sync} of ${p.matched_hosts} in sync`;

/** A selector as label tags; the empty one matches every host. */
export const selectorTags = (labels: Record<string, string> | undefined) =>
  labelTags(labels ?? {}) ?? h("span", { class: "muted" }, "every host");

/** #/policies: every policy, with what it selects, gives and how many of its hosts are in sync. */
export const policiesView: View = async (root, ctx) => {
  const [policies, repos] = await Promise.all([api<List<Policy>>("/policies"), api<List<Repository>>("/repositories")]);
  const repoName = new Map(repos.items.map((r) => [r.id, r.name]));
  root.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", { tabindex: "-1" }, "Policies"),
      ctx.isAdmin ? h("a", { class: "button", href: "#/policies/new" }, "New policy") : null,
    ),
    h(
      "p",
      { class: "muted" },
      "A policy gives every host whose labels match its selector a set of schedules and, optionally, a repository. " +
        "A host's own repository settings win; among policies, the highest priority does.",
    ),
  );
  if (policies.items.length === 0) {
    root.append(
      emptyState(
        "No policies yet.",
        ctx.isAdmin ? h("a", { class: "button", href: "#/policies/new" }, "Create the first policy") : null,
      ),
    );
    return;
  }
  root.append(
    h(
      "table",
      { class: "policies" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Policy", "Selector", "Repository", "Priority", "State", "Schedules", "Hosts", "Conflicts"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        policies.items.map((p) =>
          h(
            "tr",
            { "data-policy": p.id, class: p.conflicts.length > 0 ? "row-conflict" : undefined },
            h("th", { scope: "row" }, h("a", { href: `#/policies/${p.id}` }, p.name)),
            h("td", { "data-label": "Selector" }, selectorTags(p.selector.labels)),
            h(
              "td",
              { "data-label": "Repository" },
              p.repository_id
                ? (repoName.get(p.repository_id) ?? p.repository_id)
                : h("span", { class: "muted" }, "none"),
            ),
            h("td", { "data-label": "Priority" }, String(p.priority)),
            h("td", { "data-label": "State" }, p.enabled ? "enabled" : h("span", { class: "muted" }, "disabled")),
            h(
              "td",
              { "data-label": "Schedules" },
              p.schedules.length === 0
                ? "none"
                : h("ul", { class: "schedule-lines" }, ...p.schedules.map((x) => h("li", {}, scheduleLine(x)))),
            ),
            h("td", { "data-label": "Hosts", class: "policy-sync" }, syncText(p)),
            h(
              "td",
              { "data-label": "Conflicts" },
              p.conflicts.length > 0
                ? h("span", { class: "badge badge-failed" }, `⚠ ${plural(p.conflicts.length, "host")} in conflict`)
                : "–",
            ),
          ),
        ),
      ),
    ),
  );
};
