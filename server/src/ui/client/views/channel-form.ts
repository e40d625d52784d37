import { ApiFailure, api } from "../api.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import type { Channel, ChannelKind } from "../types.ts";
import { formActions } from "../widgets.ts";

interface ConfigField {
  name: string;
  label: string;
  /** Write-only: never shown back; empty on an edit means "unchanged". */
  secret?: boolean;
  optional?: boolean;
  /** A list, one per line (e-mail recipients). */
  list?: boolean;
  placeholder?: string;
  hint?: string;
}

/** The fields of each kind (DESIGN §8.4); a Record over the server's kinds, so none is missed. */
export const KIND_FIELDS: Record<ChannelKind, { label: string; fields: ConfigField[] }> = {
  webhook: {
    label: "Webhook (JSON POST)",
    fields: [
      { name: "url", label: "URL", placeholder: "https://hooks.example.com/restic" },
      {
        name: "secret",
        label: "Signing secret",
        secret: true,
        optional: true,
        hint: "Optional: signs each body, X-Restic-Fleet-Signature: sha256=<HMAC>.",
      },
    ],
  },
  ntfy: {
    label: "ntfy",
    fields: [
      { name: "url", label: "Topic URL", placeholder: "https://ntfy.sh/mytopic" },
      { name: "token", label: "Access token", secret: true, optional: true, hint: "Optional, tk_…" },
    ],
  },
  slack: {
    label: "Slack",
    fields: [
      {
        name: "webhook_url",
        label: "Incoming webhook URL",
        secret: true,
        placeholder: "https://hooks.slack.com/services/…",
        hint: "Whoever holds it can post, so it is kept secret: only its host is shown.",
      },
    ],
  },
  discord: {
    label: "Discord",
    fields: [
      {
        name: "webhook_url",
        label: "Webhook URL",
        secret: true,
        placeholder: "https://discord.com/api/webhooks/…",
        hint: "Whoever holds it can post, so it is kept secret: only its host is shown.",
      },
    ],
  },
  email: {
    label: "E-mail (SMTP)",
    fields: [
      {
        name: "smtp_url",
        label: "SMTP URL",
        secret: true,
        placeholder: "smtps://user:password@smtp.example.com:465",
        hint: "smtps:// (implicit TLS, 465) or smtp:// (STARTTLS, 587), with user and password. Kept secret.",
      },
      { name: "from", label: "From", placeholder: "restic-fleet@example.com" },
      { name: "to", label: "To (one address per line)", list: true, placeholder: "ops@example.com" },
    ],
  },
};
export const KINDS = Object.keys(KIND_FIELDS) as ChannelKind[];

/** Whether a secret is set, from the public config's `has_…` flag (email: its URL's password). */
const secretIsSet = (c: Channel, name: string) =>
  c.config[name === "smtp_url" ? "has_password" : `has_${name}`] === true || name === "webhook_url";

/**
 * Create or edit a channel: only the fields of the chosen kind. Secrets are write-only, and the
 * API replaces a config whole, so an edit that leaves every config field as it was sends no
 * config at all; one that changes any needs each set secret typed again (the form says which).
 */
export function channelForm(existing: Channel | null, done: (changed: boolean) => Promise<void>) {
  const name = h("input", { name: "name", value: existing?.name ?? "", autocomplete: "off", required: true });
  const kind = h(
    "select",
    { name: "kind" },
    KINDS.map((k) => h("option", { value: k }, KIND_FIELDS[k].label)),
  );
  kind.value = existing?.kind ?? "webhook";
  const configBox = h("div", { class: "channel-config", "data-scope": "config" });
  let inputs: Array<{ f: ConfigField; el: HTMLInputElement | HTMLTextAreaElement; initial: string }> = [];

  const renderConfig = () => {
    clear(configBox);
    const k = kind.value as ChannelKind;
    const same = existing !== null && existing.kind === k;
    inputs = KIND_FIELDS[k].fields.map((f) => {
      const shown = same ? existing.config[f.name] : undefined;
      const initial = f.secret ? "" : Array.isArray(shown) ? shown.join("\n") : typeof shown === "string" ? shown : "";
      const attrs = {
        name: f.name,
        value: initial,
        autocomplete: f.secret ? "new-password" : "off",
        spellcheck: "false",
        placeholder: f.secret && same ? (secretIsSet(existing, f.name) ? "unchanged" : "not set") : f.placeholder,
      };
      const el = f.list
        ? h("textarea", { ...attrs, rows: 3 })
        : h("input", { ...attrs, type: f.secret ? "password" : "text" });
      return { f, el, initial };
    });
    for (const { f, el } of inputs) {
      let label = f.label;
      if (f.secret)
        label += same ? ` (${secretIsSet(existing, f.name) ? "set" : "not set"}; write-only)` : " (write-only)";
      else if (f.optional) label += " (optional)";
      const now = same && f.name === "smtp_url" ? `Now ${String(existing.config.smtp_url)}. ` : "";
      const host = same && f.name === "webhook_url" ? `Now a URL on ${String(existing.config.webhook_host)}. ` : "";
      configBox.append(field(label, el, `${now}${host}${f.hint ?? ""}` || undefined));
    }
  };
  kind.addEventListener("change", renderConfig);
  renderConfig();

  const submit = h("button", { type: "submit" }, existing ? "Save channel" : "Create channel");
  const form = h(
    "form",
    {
      class: "card channel-form",
      "aria-label": existing ? `Edit channel ${existing.name}` : "New channel",
      novalidate: true,
    },
    h("h2", {}, existing ? `Edit ${existing.name}` : "New channel"),
    field("Name", name),
    field("Kind", kind),
    configBox,
    existing
      ? h(
          "p",
          { class: "hint" },
          "Secrets are never shown. Leave every setting as it is to keep them; changing any setting replaces them all, so type the set secrets again.",
        )
      : null,
    h("p", { class: "form-error", role: "alert" }),
    formActions(submit, () => void done(false)),
  );

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const k = kind.value as ChannelKind;
    const changed = existing === null || existing.kind !== k || inputs.some((x) => x.el.value.trim() !== x.initial);
    const body: Record<string, unknown> = { name: name.value.trim() };
    if (changed) {
      const config: Record<string, unknown> = {};
      for (const { f, el } of inputs) {
        const v = el.value.trim();
        if (f.list) config[f.name] = v.split(/[\s,;]+/).filter(Boolean);
        else if (v !== "" || !f.optional) config[f.name] = v;
        // A set secret left empty would be dropped by the whole-config replace: ask for it.
        if (f.secret && v === "" && existing?.kind === k && secretIsSet(existing, f.name)) {
          showFormError(form, {
            path: `config.${f.name}`,
            message: `type it again: changing a setting replaces them all (or leave every setting unchanged)`,
          });
          return;
        }
      }
      body.kind = k;
      body.config = config;
    }
    submit.disabled = true;
    try {
      if (existing) await api(`/notification-channels/${existing.id}`, "PATCH", body);
      else await api("/notification-channels", "POST", body);
      await done(true);
    } catch (err) {
      const error: { message: string; path?: string } =
        err instanceof ApiFailure ? err.error : { message: String(err) };
      // "config.url: must be…" shown by the URL box needs no "config.url: ".
      const message = error.path ? error.message.replace(`${error.path}: `, "") : error.message;
      showFormError(form, { ...error, message });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The public config in words: URL, whether a secret is set, recipients. */
export function configText(c: Channel): string {
  const cfg = c.config;
  switch (c.kind) {
    case "webhook":
      return `${String(cfg.url)} · ${cfg.has_secret ? "signed" : "unsigned"}`;
    case "ntfy":
      return `${String(cfg.url)} · ${cfg.has_token ? "token set" : "no token"}`;
    case "slack":
    case "discord":
      return `webhook on ${String(cfg.webhook_host)}`;
    case "email": {
      const to = Array.isArray(cfg.to) ? cfg.to.join(", ") : "";
      return `${String(cfg.from)} → ${to} via ${String(cfg.smtp_url)}`;
    }
    default:
      return JSON.stringify(cfg);
  }
}
