import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { clear, h } from "../dom.ts";
import type { List, Repository, RepositoryKeys } from "../types.ts";
import { emptyState, errorBox } from "../widgets.ts";
import { repositoryForm } from "./repository-form.ts";
import { lastRun, maintenanceCard } from "./repository-maintenance.ts";
import { repositoryTestCard } from "./repository-test.ts";

/** What the password column says: a template without its own password gets one generated per host. */
const passwordText = (r: Repository) => (r.has_password ? "set" : r.templated ? "generated per host" : "not set");

/** The keys export: shown in a box and offered as a file, under a warning. */
function keysCard(keys: RepositoryKeys, close: () => void) {
  const text = JSON.stringify(keys, null, 2);
  const href = URL.createObjectURL(new Blob([`${text}\n`], { type: "application/json" }));
  return h(
    "section",
    { class: "card keys", "aria-labelledby": "keys-h" },
    h("h2", { id: "keys-h" }, `Keys of ${keys.name}`),
    h(
      "p",
      { class: "warn-text", role: "alert" },
      "This holds the repository passwords in clear. Without them no backup can be read if this server is lost, " +
        "so keep a copy somewhere safe and offline, not next to the backups. Anyone with it can read them.",
    ),
    h(
      "div",
      { class: "actions" },
      h("a", { class: "button", href, download: `restic-fleet-keys-${keys.name}.json` }, "Download JSON"),
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            URL.revokeObjectURL(href);
            close();
          },
        },
        "Hide",
      ),
    ),
    h("pre", { class: "keys-json" }, text),
  );
}

/** #/repositories: the repositories policies hand out; admins create, edit, delete and export keys. */
export const repositoriesView: View = async (root, ctx) => {
  const table = h("div", {});
  const notice = h("div", { "aria-live": "polite" });
  const editor = h("div", {});
  const openForm = (r: Repository | null) => {
    clear(editor);
    clear(notice);
    editor.append(
      repositoryForm(r, async (changed) => {
        clear(editor);
        if (changed) await refresh();
      }),
    );
    editor.querySelector<HTMLElement>("input")?.focus();
  };
  const fail = (err: unknown) => {
    clear(notice);
    notice.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
  };
  const refresh = async () => {
    const repos = (await api<List<Repository>>("/repositories")).items;
    clear(table);
    if (repos.length === 0) {
      table.append(emptyState("No repositories yet: create one, then give it to hosts through a policy."));
      return;
    }
    table.append(
      h(
        "table",
        { class: "repositories" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Repository", "URL", "Kind", "Password", "Auto init", ""].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h(
          "tbody",
          {},
          repos.map((r) =>
            h(
              "tr",
              { "data-repository": r.id },
              h("th", { scope: "row" }, r.name, lastRun("check", r.last_check), lastRun("prune", r.last_prune)),
              h("td", { "data-label": "URL", class: "url" }, h("code", {}, r.url)),
              h("td", { "data-label": "Kind" }, r.templated ? "per host" : "shared"),
              h(
                "td",
                { "data-label": "Password" },
                passwordText(r),
                r.username ? ` · user ${r.username}` : "",
                r.secret_env.length > 0 ? h("small", { class: "block muted" }, `${r.secret_env.join(", ")} set`) : null,
              ),
              h("td", { "data-label": "Auto init" }, r.auto_init ? "yes" : "no"),
              h(
                "td",
                { class: "actions" },
                h(
                  "button",
                  {
                    type: "button",
                    class: "secondary",
                    onclick: async () => {
                      try {
                        const card = await maintenanceCard(r, () => clear(editor));
                        clear(notice);
                        clear(editor);
                        editor.append(card);
                        card.querySelector<HTMLElement>("h2")?.scrollIntoView();
                      } catch (err) {
                        fail(err);
                      }
                    },
                  },
                  "Maintenance",
                ),
                ctx.isAdmin
                  ? [
                      h("button", { type: "button", class: "secondary", onclick: () => openForm(r) }, "Edit"),
                      h(
                        "button",
                        {
                          type: "button",
                          class: "secondary",
                          onclick: async () => {
                            try {
                              const card = await repositoryTestCard(r, () => clear(editor));
                              clear(notice);
                              clear(editor);
                              editor.append(card);
                              card.querySelector<HTMLElement>("select")?.focus();
                            } catch (err) {
                              fail(err);
                            }
                          },
                        },
                        "Test connection",
                      ),
                      h(
                        "button",
                        {
                          type: "button",
                          class: "secondary",
                          onclick: async () => {
                            if (
                              !confirm(
                                `Export the keys of ${r.name}? The answer holds its passwords in clear, and the export is audited.`,
                              )
                            )
                              return;
                            try {
                              const keys = await api<RepositoryKeys>(`/repositories/${r.id}/keys`);
                              clear(notice);
                              clear(editor);
                              editor.append(keysCard(keys, () => clear(editor)));
                              editor.querySelector<HTMLElement>("h2")?.scrollIntoView();
                            } catch (err) {
                              fail(err);
                            }
                          },
                        },
                        "Export keys",
                      ),
                      h(
                        "button",
                        {
                          type: "button",
                          class: "danger",
                          onclick: async () => {
                            if (!confirm(`Delete the repository ${r.name}? Its backups stay where they are.`)) return;
                            try {
                              await api(`/repositories/${r.id}`, "DELETE");
                              clear(notice);
                              await refresh();
                            } catch (err) {
                              fail(err);
                            }
                          },
                        },
                        "Delete",
                      ),
                    ]
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  };
  await refresh();
  root.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", { tabindex: "-1" }, "Repositories"),
      ctx.isAdmin ? h("button", { type: "button", onclick: () => openForm(null) }, "New repository") : null,
    ),
    h(
      "p",
      { class: "muted" },
      "Repositories that policies give their hosts. Passwords and credentials are write-only: the list says only whether one is set.",
    ),
    notice,
    table,
    editor,
  );
};
