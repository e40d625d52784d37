import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import type { List } from "../types.ts";
import { ago, errorBox } from "../widgets.ts";

interface User {
  id: string;
  username: string;
  role: "admin" | "viewer";
  created_at: string;
  disabled_at: string | null;
}

export const usersView: View = async (root, ctx) => {
  if (!ctx.isAdmin) {
    root.append(h("h1", { tabindex: "-1" }, "Users"), h("p", {}, "Only admins manage users."));
    return;
  }
  const table = h("div", {});
  const notice = h("div", { "aria-live": "polite" });
  const refresh = async () => {
    const users = (await api<List<User>>("/users")).items;
    clear(table);
    const act = (u: User, label: string, body: Record<string, unknown>, cls = "secondary") =>
      h(
        "button",
        {
          type: "button",
          class: cls,
          onclick: async () => {
            clear(notice);
            try {
              await api(`/users/${u.id}`, "PATCH", body);
              await refresh();
            } catch (err) {
              notice.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
            }
          },
        },
        label,
      );
    table.append(
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h("tr", {}, ...["User", "Role", "State", "Created", ""].map((t) => h("th", { scope: "col" }, t))),
        ),
        h(
          "tbody",
          {},
          users.map((u) =>
            h(
              "tr",
              { "data-user": u.username },
              h("th", { scope: "row" }, u.username),
              h("td", { "data-label": "Role" }, u.role),
              h("td", { "data-label": "State" }, u.disabled_at ? "disabled" : "active"),
              h("td", { "data-label": "Created" }, ago(u.created_at)),
              h(
                "td",
                { class: "actions" },
                act(u, u.role === "admin" ? "Make viewer" : "Make admin", {
                  role: u.role === "admin" ? "viewer" : "admin",
                }),
                act(
                  u,
                  u.disabled_at ? "Enable" : "Disable",
                  { disabled: !u.disabled_at },
                  u.disabled_at ? "secondary" : "danger",
                ),
                h(
                  "button",
                  {
                    type: "button",
                    class: "secondary",
                    onclick: async () => {
                      const password = prompt(`New password for ${u.username} (at least 8 characters):`);
                      if (!password) return;
                      clear(notice);
                      try {
                        await api(`/users/${u.id}`, "PATCH", { password });
                        notice.append(
                          h("p", { class: "ok-text" }, `Password of ${u.username} reset; their sessions were ended.`),
                        );
                      } catch (err) {
                        notice.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
                      }
                    },
                  },
                  "Reset password",
                ),
              ),
            ),
          ),
        ),
      ),
    );
  };
  const username = h("input", { name: "username", autocomplete: "off" });
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password" });
  const role = h(
    "select",
    { name: "role" },
    h("option", { value: "viewer" }, "viewer"),
    h("option", { value: "admin" }, "admin"),
  );
  const form = h(
    "form",
    { class: "card" },
    h("h2", {}, "Add a user"),
    field("User name", username),
    field("Password", password, "At least 8 characters."),
    field("Role", role),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, "Add user"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("/users", "POST", { username: username.value.trim(), password: password.value, role: role.value });
      username.value = "";
      password.value = "";
      await refresh();
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    }
  });
  root.append(h("h1", { tabindex: "-1" }, "Users"), notice, table, form);
  await refresh();
};
