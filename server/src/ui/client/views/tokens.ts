import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import { absolute } from "../format.ts";
import { labelTags } from "../labels.ts";
import type { ApiToken, EnrollmentToken, List } from "../types.ts";
import { ago, emptyState, errorBox, failureText } from "../widgets.ts";

/** User id → name, for "made by" and "owner"; empty when the list cannot be read. */
async function userNames(): Promise<Map<string, string>> {
  const users = await api<List<{ id: string; username: string }>>("/users").catch(() => ({ items: [] }));
  return new Map(users.items.map((u) => [u.id, u.username]));
}

/** What became of an enrollment token: it enrolls hosts only while "active". */
function enrollmentState(t: EnrollmentToken): "active" | "expired" | "used up" | "revoked" {
  if (t.revoked_at) return "revoked";
  if (t.expires_at <= new Date().toISOString()) return "expired";
  return t.uses_left > 0 ? "active" : "used up";
}

/** "1 of 3 left (2 used)"; only the uses left for a token made before the total was kept. */
const usesText = (t: EnrollmentToken) =>
  t.uses === null ? `${t.uses_left} left` : `${t.uses_left} of ${t.uses} left (${t.uses - t.uses_left} used)`;

function table(cls: string, heads: string[], rows: HTMLElement[]) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: cls },
      h("thead", {}, h("tr", {}, ...heads.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows),
    ),
  );
}

function revokeButton(label: string, question: string, path: string, notice: HTMLElement, done: () => Promise<void>) {
  return h(
    "button",
    {
      type: "button",
      class: "danger",
      "aria-label": label,
      onclick: async () => {
        if (!confirm(question)) return;
        clear(notice);
        try {
          await api(path, "DELETE");
          await done();
        } catch (err) {
          notice.append(errorBox(failureText(err)));
        }
      },
    },
    "Revoke",
  );
}

/**
 * The enrollment tokens (newest first, one page of 100) into `box`: labels, uses, expiry, who made
 * each and when, and its state, with Revoke while it can still enroll a host; never the secret.
 * Revoked, expired and used-up ones stay listed, greyed. Shared by Add hosts and Tokens.
 */
export async function renderEnrollmentTokens(box: HTMLElement, names?: Map<string, string>): Promise<void> {
  const [tokens, users] = await Promise.all([
    api<List<EnrollmentToken>>("/enrollment-tokens?limit=100"),
    names ?? userNames(),
  ]);
  const notice = h("div", { "aria-live": "polite" });
  clear(box);
  box.append(h("h2", { id: "tokens-h" }, "Enrollment tokens"), notice);
  if (tokens.items.length === 0) {
    box.append(emptyState("No enrollment tokens yet."));
    return;
  }
  const rows = tokens.items.map((t) => {
    const st = enrollmentState(t);
    return h(
      "tr",
      { "data-token": t.id, class: st === "active" ? undefined : "token-inactive" },
      h("td", { "data-label": "Token" }, h("code", {}, t.id)),
      h("td", { "data-label": "Labels" }, labelTags(t.labels) ?? h("span", { class: "muted" }, "none")),
      h("td", { "data-label": "Uses" }, usesText(t)),
      h("td", { "data-label": "Expires" }, h("time", { datetime: t.expires_at }, absolute(t.expires_at))),
      h(
        "td",
        { "data-label": "Created" },
        ago(t.created_at),
        " by ",
        t.created_by ? (users.get(t.created_by) ?? t.created_by) : "the CLI",
      ),
      h("td", { "data-label": "State" }, h("span", { class: `badge badge-token-${st.replace(" ", "_")}` }, st)),
      h(
        "td",
        { class: "actions" },
        st === "active"
          ? revokeButton(
              `Revoke ${t.id}`,
              `Revoke ${t.id}? No more hosts can enroll with it.`,
              `/enrollment-tokens/${t.id}`,
              notice,
              () => renderEnrollmentTokens(box, users),
            )
          : null,
      ),
    );
  });
  box.append(table("tokens", ["Token", "Labels", "Uses", "Expires", "Created", "State", ""], rows));
}

/** The API tokens (an admin sees everyone's), each with its owner and last use, and Revoke. */
async function renderApiTokens(box: HTMLElement, names: Map<string, string>): Promise<void> {
  const tokens = await api<List<ApiToken>>("/api-tokens");
  const notice = h("div", { "aria-live": "polite" });
  clear(box);
  box.append(notice);
  if (tokens.items.length === 0) {
    box.append(emptyState("No API tokens yet."));
    return;
  }
  const rows = tokens.items.map((t) =>
    h(
      "tr",
      { "data-api-token": t.id, class: t.revoked_at ? "token-inactive" : undefined },
      h("th", { scope: "row" }, t.name, h("div", {}, h("code", {}, t.id))),
      h("td", { "data-label": "Owner" }, names.get(t.user_id) ?? t.user_id),
      h("td", { "data-label": "Created" }, ago(t.created_at)),
      h("td", { "data-label": "Last used" }, ago(t.last_used_at)),
      h(
        "td",
        { "data-label": "State" },
        t.revoked_at
          ? [h("span", { class: "badge badge-token-revoked" }, "revoked"), " ", ago(t.revoked_at)]
          : h("span", { class: "badge badge-token-active" }, "active"),
      ),
      h(
        "td",
        { class: "actions" },
        t.revoked_at
          ? null
          : revokeButton(
              `Revoke ${t.name}`,
              `Revoke the API token ${t.name}? Scripts using it are refused from now on.`,
              `/api-tokens/${t.id}`,
              notice,
              () => renderApiTokens(box, names),
            ),
      ),
    ),
  );
  box.append(table("api-tokens", ["Name", "Owner", "Created", "Last used", "State", ""], rows));
}

/** Create an API token: its secret is shown once, with a copy button. */
function apiTokenForm(list: HTMLElement, names: Map<string, string>) {
  const name = h("input", { name: "name", autocomplete: "off", placeholder: "e.g. backup-report script" });
  const out = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "api-token-form" },
    field("Name", name, "Says what uses it. The token acts as you, with your role."),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, "Create API token"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const t = await api<ApiToken & { token: string }>("/api-tokens", "POST", { name: name.value.trim() });
      showFormError(form, { message: "" });
      name.value = "";
      clear(out);
      const copy = h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: async () => {
            await navigator.clipboard?.writeText(t.token).catch(() => {});
            copy.textContent = "Copied";
          },
        },
        "Copy",
      );
      out.append(
        h(
          "div",
          { class: "new-token", role: "status" },
          h("h3", { tabindex: "-1" }, `API token ${t.name}`),
          h(
            "p",
            { class: "warning-note" },
            "Copy it now: it will not be shown again. Send it as Authorization: Bearer <token>.",
          ),
          h("pre", { class: "token", tabindex: "0" }, h("code", {}, t.token)),
          copy,
        ),
      );
      out.querySelector<HTMLElement>("h3")?.focus();
      await renderApiTokens(list, names);
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    }
  });
  return [form, out];
}

/** Admins: every enrollment and API token, revoke either, and make API tokens. */
export const tokensView: View = async (root, ctx) => {
  root.append(h("h1", { tabindex: "-1" }, "Tokens"));
  if (!ctx.isAdmin) {
    root.append(h("p", {}, "Only admins manage tokens."));
    return;
  }
  const names = await userNames();
  const enrollment = h("section", { class: "card", "aria-labelledby": "tokens-h" });
  const apiList = h("div", {});
  root.append(
    h(
      "p",
      {},
      "Enrollment tokens let agents enroll (make them on ",
      h("a", { href: "#/enroll" }, "Add hosts"),
      "); API tokens let scripts use the API as the user who made them. Neither secret is kept: only its hash.",
    ),
    enrollment,
    h(
      "section",
      { class: "card", "aria-labelledby": "api-tokens-h" },
      h("h2", { id: "api-tokens-h" }, "API tokens"),
      ...apiTokenForm(apiList, names),
      apiList,
    ),
  );
  await Promise.all([renderEnrollmentTokens(enrollment, names), renderApiTokens(apiList, names)]);
};
