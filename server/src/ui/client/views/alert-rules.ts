import { ApiFailure, api } from "../api.ts";
import type { Ctx } from "../context.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import { labelText, parseLabelText } from "../labels.ts";
import type { AlertRule, Channel } from "../types.ts";
import { emptyState, errorBox, formActions } from "../widgets.ts";
import { CONDITIONS, conditionText, durationText } from "./alert-common.ts";
import { selectorTags } from "./policies.ts";

/** A fieldset of checkboxes, one per option, named so an error on `<name>.3` lands on it. */
function checkboxes(name: string, legend: string, options: Array<[string, string]>, checked: Set<string>) {
  const box = h("fieldset", { class: "field checks", "data-field": name }, h("legend", {}, legend));
  for (const [value, text] of options) {
    const input = h("input", { type: "checkbox", name, value, id: `${name}-${value}`, checked: checked.has(value) });
    box.append(h("div", { class: "field inline" }, input, h("label", { for: input.id }, text)));
  }
  box.append(h("p", { class: "field-error", role: "alert" }));
  const values = () => [...box.querySelectorAll<HTMLInputElement>("input:checked")].map((i) => i.value);
  return { box, values };
}

function ruleForm(
  existing: AlertRule | null,
  channels: Channel[],
  readOnly: boolean,
  done: (changed: boolean) => Promise<void>,
) {
  const name = h("input", { name: "name", value: existing?.name ?? "", autocomplete: "off", required: true });
  const selector = h("input", {
    name: "selector",
    value: labelText(existing?.selector.labels ?? {}),
    placeholder: "env=prod role=db (empty: every host)",
    autocomplete: "off",
    spellcheck: "false",
  });
  const conditions = checkboxes(
    "conditions",
    "Conditions",
    CONDITIONS.map((c) => [c, conditionText(c)]),
    new Set(existing?.conditions ?? ["backup_failed", "backup_stale", "host_offline"]),
  );
  const chans = checkboxes(
    "channel_ids",
    "Channels",
    channels.map((c) => [c.id, `${c.name} (${c.kind})`]),
    new Set(existing?.channel_ids ?? (channels.length === 1 ? [channels[0]?.id ?? ""] : [])),
  );
  if (channels.length === 0) chans.box.append(h("p", { class: "muted" }, "No channels yet: create one above first."));
  const offline = h("input", {
    name: "offline_after",
    value: existing ? durationText(existing.offline_after_s) : "1h",
    autocomplete: "off",
  });
  const repeat = h("input", {
    name: "repeat_after",
    value: existing?.repeat_after_s ? durationText(existing.repeat_after_s) : "",
    placeholder: "never",
    autocomplete: "off",
  });
  const enabled = h("input", {
    name: "enabled",
    type: "checkbox",
    id: "rule-enabled",
    checked: existing?.enabled ?? true,
  });
  const submit = h("button", { type: "submit" }, existing ? "Save rule" : "Create rule");
  const form = h(
    "form",
    { class: "card rule-form", "aria-label": existing ? `Edit rule ${existing.name}` : "New rule", novalidate: true },
    h("h2", {}, existing ? `Edit rule ${existing.name}` : "New rule"),
    h(
      "fieldset",
      { class: "plain", disabled: readOnly },
      field("Name", name),
      field("Hosts (selector)", selector, "Labels every host must carry, key=value, separated by spaces or commas."),
      h("div", { class: "columns" }, conditions.box, chans.box),
      h(
        "div",
        { class: "columns" },
        field("Offline after", offline, "How long a host may be offline before host offline fires: 90s, 30m, 1h, 7d."),
        field("Repeat every", repeat, "Remind while an alert keeps firing (at least 5m); empty: tell once."),
      ),
      h("div", { class: "field inline" }, enabled, h("label", { for: enabled.id }, "enabled")),
    ),
    h("p", { class: "form-error", role: "alert" }),
    readOnly ? null : formActions(submit, () => void done(false)),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const labels = parseLabelText(selector.value);
    if (!labels.ok) {
      showFormError(form, { path: "selector", message: labels.message });
      return;
    }
    const body = {
      name: name.value.trim(),
      selector: { labels: labels.labels },
      conditions: conditions.values(),
      channel_ids: chans.values(),
      offline_after: offline.value.trim() || "1h",
      repeat_after: repeat.value.trim() || null,
      enabled: enabled.checked,
    };
    submit.disabled = true;
    try {
      if (existing) await api(`/alert-rules/${existing.id}`, "PATCH", body);
      else await api("/alert-rules", "POST", body);
      await done(true);
    } catch (err) {
      const error: { message: string; path?: string } =
        err instanceof ApiFailure ? err.error : { message: String(err) };
      // "conditions: name at least one" shown by the conditions needs no "conditions: ".
      const top = error.path?.split(".")[0];
      showFormError(form, { ...error, message: top ? error.message.replace(`${top}: `, "") : error.message });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The alert rules, as a section of the channels page: list, and (admins) create, edit, delete. */
export function rulesSection(ctx: Ctx, rules: AlertRule[], channels: Channel[], refresh: () => Promise<void>) {
  const notice = h("div", { "aria-live": "polite" });
  const editor = h("div", {});
  const channelName = new Map(channels.map((c) => [c.id, c.name]));
  const open = (r: AlertRule | null) => {
    clear(editor);
    clear(notice);
    editor.append(
      ruleForm(r, channels, !ctx.isAdmin, async (changed) => {
        clear(editor);
        if (changed) await refresh();
      }),
    );
    editor.querySelector<HTMLElement>("input")?.focus();
  };
  const section = h(
    "section",
    { class: "rules", "aria-labelledby": "rules-h" },
    h(
      "div",
      { class: "page-head" },
      h("h2", { id: "rules-h" }, "Alert rules"),
      ctx.isAdmin ? h("button", { type: "button", onclick: () => open(null) }, "New rule") : null,
    ),
    notice,
  );
  if (rules.length === 0) {
    section.append(emptyState("No rules yet: without one, alerts are listed but nobody is told."));
  } else {
    section.append(
      h(
        "table",
        { class: "rules-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Rule", "Hosts", "Conditions", "Channels", "Offline after", "Repeat", "State", ""].map((t) =>
              h("th", { scope: "col" }, t),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          rules.map((r) =>
            h(
              "tr",
              { "data-rule": r.id },
              h("th", { scope: "row" }, r.name),
              h("td", { "data-label": "Hosts" }, selectorTags(r.selector.labels)),
              h("td", { "data-label": "Conditions", class: "wrap" }, r.conditions.map(conditionText).join(", ")),
              h(
                "td",
                { "data-label": "Channels", class: "wrap" },
                r.channel_ids.map((id) => channelName.get(id) ?? id).join(", "),
              ),
              h("td", { "data-label": "Offline after" }, durationText(r.offline_after_s)),
              h(
                "td",
                { "data-label": "Repeat" },
                r.repeat_after_s ? `every ${durationText(r.repeat_after_s)}` : "never",
              ),
              h("td", { "data-label": "State" }, r.enabled ? "enabled" : h("span", { class: "muted" }, "disabled")),
              h(
                "td",
                { class: "actions" },
                h(
                  "button",
                  { type: "button", class: "secondary", onclick: () => open(r) },
                  ctx.isAdmin ? "Edit" : "View",
                ),
                ctx.isAdmin
                  ? h(
                      "button",
                      {
                        type: "button",
                        class: "danger",
                        onclick: async () => {
                          if (!confirm(`Delete the rule ${r.name}? Its alerts stay listed; nobody is told of them.`))
                            return;
                          try {
                            await api(`/alert-rules/${r.id}`, "DELETE");
                            await refresh();
                          } catch (err) {
                            clear(notice);
                            notice.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
                          }
                        },
                      },
                      "Delete",
                    )
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  }
  section.append(editor);
  return section;
}
