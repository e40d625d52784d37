import { ApiFailure, api } from "../api.ts";
import { field, h, showFormError } from "../dom.ts";
import { labelText } from "../labels.ts";
import type { Alert } from "../types.ts";
import { formActions } from "../widgets.ts";
import { conditionText } from "./alert-common.ts";

/** The preset lengths; "custom" takes a date and time. */
const LENGTHS = [
  ["1h", "1 hour"],
  ["4h", "4 hours"],
  ["1d", "1 day"],
  ["custom", "until…"],
] as const;

let forms = 0;

/**
 * Mutes notifications for an alert's host, or for every host carrying its labels, for a while,
 * with a reason. The alert stays listed: a mute holds back messages, not the alert.
 */
export function muteForm(alert: Alert, done: (muted: boolean) => Promise<void>) {
  const n = ++forms;
  const radio = (name: string, value: string, text: string, checked: boolean, disabled = false) => {
    const input = h("input", { type: "radio", name, value, id: `mute${n}-${name}-${value}`, checked, disabled });
    return h("div", { class: "field inline" }, input, h("label", { for: input.id }, text));
  };
  const hasLabels = Object.keys(alert.labels).length > 0;
  const scope = h(
    "fieldset",
    { class: "field", "data-field": "selector" },
    h("legend", {}, "Mute"),
    radio("scope", "host", `this host, ${alert.host_name}`, true),
    radio(
      "scope",
      "labels",
      hasLabels ? `every host labelled ${labelText(alert.labels)}` : "its labels (this host has none)",
      false,
      !hasLabels,
    ),
    h("p", { class: "field-error", role: "alert" }),
  );
  const custom = h("input", { type: "datetime-local", name: "until_at", "aria-label": "Mute until (date and time)" });
  custom.disabled = true;
  const length = h(
    "fieldset",
    { class: "field", "data-field": "until" },
    h("legend", {}, "For"),
    h(
      "div",
      { class: "mute-lengths" },
      LENGTHS.map(([v, text]) => radio("length", v, text, v === "4h")),
    ),
    custom,
    h("p", { class: "field-error", role: "alert" }),
  );
  length.addEventListener("change", () => {
    custom.disabled = picked(length, "length") !== "custom";
    if (!custom.disabled) custom.focus();
  });
  const reason = h("input", {
    name: "reason",
    autocomplete: "off",
    required: true,
    placeholder: "e.g. disk swap, back tomorrow",
  });
  const submit = h("button", { type: "submit" }, "Mute");
  const form = h(
    "form",
    { class: "card mute-form", "aria-label": `Mute ${alert.host_name}`, novalidate: true },
    h("h2", {}, `Mute ${alert.host_name}`),
    h(
      "p",
      { class: "muted" },
      `No notifications for ${conditionText(alert.condition)} or any other alert of the hosts chosen, until the mute ends. ` +
        "The alerts stay listed here.",
    ),
    scope,
    length,
    field("Reason", reason, "Required: the next person to look will want to know why."),
    h("p", { class: "form-error", role: "alert" }),
    formActions(submit, () => void done(false)),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const len = picked(length, "length");
    let until = len;
    if (len === "custom") {
      const at = new Date(custom.value);
      if (!custom.value || !Number.isFinite(at.getTime())) {
        showFormError(form, { message: "choose a date and time", path: "until" });
        return;
      }
      until = at.toISOString();
    }
    const body =
      picked(scope, "scope") === "labels"
        ? { selector: { labels: alert.labels }, until, reason: reason.value }
        : { host_id: alert.host_id, until, reason: reason.value };
    submit.disabled = true;
    try {
      await api("/mutes", "POST", body);
      await done(true);
    } catch (err) {
      const error = err instanceof ApiFailure ? err.error : { message: String(err) };
      showFormError(form, { ...error, message: error.message.replace(/^(until|reason|host_id|selector): /, "") });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

const picked = (el: HTMLElement, name: string) =>
  el.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`)?.value ?? "";
