import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import type { List, Repository, RepositoryKeys } from "../types.ts";
import { ago, badge, emptyState, errorBox, formActions } from "../widgets.ts";

const HOST_TOKEN = "{host}";

/** What the password column says: a template without its own password gets one generated per host. */
const passwordText = (r: Repository) => (r.has_password ? "set" : r.templated ? "generated per host" : "not set");

/**
 * A write-only secret: empty means "leave as is" (placeholder "unchanged"); clearing it needs the
 * checkbox, which sends "".
 */
function secretField(label: string, name: string, isSet: boolean, editing: boolean) {
  const input = h("input", {
    name,
    type: "password",
    autocomplete: "new-password",
    placeholder: editing && isSet ? "unchanged" : "not set",
  });
  const clearBox = h("input", { type: "checkbox", id: `${name}-clear` });
  clearBox.addEventListener("change", () => {
    input.disabled = clearBox.checked;
    if (clearBox.checked) input.value = "";
  });
  const el = h(
    "div",
    {},
    field(`${label} (${isSet ? "set" : "not set"}; write-only)`, input),
    editing && isSet
      ? h(
          "div",
          { class: "field inline" },
          clearBox,
          h("label", { for: clearBox.id }, `clear the ${label.toLowerCase()}`),
        )
      : null,
  );
  /** undefined: leave it; "": clear it; otherwise the new value. */
  const value = () => (clearBox.checked ? "" : input.value || undefined);
  return { el, value };
}

function repositoryForm(existing: Repository | null, done: (changed: boolean) => Promise<void>) {
  const name = h("input", { name: "name", value: existing?.name ?? "", autocomplete: "off", required: true });
  const url = h("input", {
    name: "url",
    value: existing?.url ?? "",
    placeholder: "s3:https://s3.example.com/backups/{host}",
    autocomplete: "off",
    spellcheck: "false",
  });
  const username = h("input", { name: "username", value: existing?.username ?? "", autocomplete: "off" });
  const password = secretField("Password", "password", existing?.has_password ?? false, existing !== null);
  const credential = secretField("Credential", "credential", existing?.has_credential ?? false, existing !== null);
  const autoInit = h("input", {
    name: "auto_init",
    type: "checkbox",
    id: "repo-auto-init",
    checked: existing?.auto_init ?? false,
  });
  const urlHint = h("p", { class: "hint", "aria-live": "polite" });
  const showKind = () => {
    urlHint.textContent = url.value.includes(HOST_TOKEN)
      ? `Per-host template: each host gets its own repository (${HOST_TOKEN} = its restic host name); without a password, one is generated per host.`
      : `Shared: every host uses this one repository, which needs a password. Put ${HOST_TOKEN} in the URL for one repository per host.`;
  };
  url.addEventListener("input", showKind);
  showKind();
  const submit = h("button", { type: "submit" }, existing ? "Save repository" : "Create repository");
  const form = h(
    "form",
    { class: "card repo-form", "aria-label": existing ? `Edit repository ${existing.name}` : "New repository" },
    h("h2", {}, existing ? `Edit ${existing.name}` : "New repository"),
    field("Name", name),
    h("div", {}, field("URL", url), urlHint),
    password.el,
    field("Backend user name", username, "For backends that take one (rest:, sftp:); empty clears it."),
    credential.el,
    h(
      "div",
      { class: "field inline", "data-field": "auto_init" },
      autoInit,
      h("label", { for: autoInit.id }, "initialise the repository before a host's first backup if it does not exist"),
    ),
    h("p", { class: "form-error", role: "alert" }),
    formActions(submit, () => void done(false)),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body: Record<string, unknown> = {
      name: name.value.trim(),
      url: url.value.trim(),
      auto_init: autoInit.checked,
    };
    if (!existing || username.value.trim() !== (existing.username ?? "")) body.username = username.value.trim();
    // The URL is shown with any password in it masked: send it only when it was edited.
    if (existing && body.url === existing.url) delete body.url;
    const pw = password.value();
    if (pw !== undefined) body.password = pw;
    const cred = credential.value();
    if (cred !== undefined) body.credential = cred;
    submit.disabled = true;
    try {
      if (existing) await api(`/repositories/${existing.id}`, "PATCH", body);
      else await api("/repositories", "POST", body);
      await done(true);
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The repository's last finished check (by any host using it): result, linked to its job, and age. */
function lastCheck(r: Repository) {
  const c = r.last_check;
  if (!c) return h("span", { class: "muted" }, "never");
  return [
    h("a", { href: `#/jobs/${c.job_id}`, class: "badge-link" }, badge(c.status)),
    " ",
    ago(c.finished_at),
    c.status === "failed" && c.error ? h("small", { class: "error block" }, c.error) : null,
  ];
}

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
              h("th", { scope: "row" }, r.name, h("small", { class: "block last-check" }, "last check ", lastCheck(r))),
              h("td", { "data-label": "URL", class: "url" }, h("code", {}, r.url)),
              h("td", { "data-label": "Kind" }, r.templated ? "per host" : "shared"),
              h("td", { "data-label": "Password" }, passwordText(r), r.username ? ` · user ${r.username}` : ""),
              h("td", { "data-label": "Auto init" }, r.auto_init ? "yes" : "no"),
              h(
                "td",
                { class: "actions" },
                ctx.isAdmin
                  ? [
                      h("button", { type: "button", class: "secondary", onclick: () => openForm(r) }, "Edit"),
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
