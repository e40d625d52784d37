import { ApiFailure, api } from "../api.ts";
import { append, clear, field, h, showFormError } from "../dom.ts";
import type { Host } from "../types.ts";

/** "36h" → "36 h", "0" → never: the value as a sentence says it. */
function reach(value: string) {
  return value === "0"
    ? h("strong", {}, "never backs up on its own")
    : ["backs up on its own for up to ", h("strong", {}, value), " after it last reached the server"];
}

/** Where the value in effect comes from: this host, a policy (linked), or the default. */
function source(host: Host, policyNames: ReadonlyMap<string, string>) {
  const e = host.effective_max_offline_age;
  if (e.source === "host") return "this host's own setting";
  if (e.source === "policy" && e.policy_id) {
    return ["from policy ", h("a", { href: `#/policies/${e.policy_id}` }, policyNames.get(e.policy_id) ?? e.policy_id)];
  }
  return "the default";
}

/**
 * How long the host's agent goes on with its backups while the server is away (max_offline_age,
 * DESIGN §8.7), into `box`: the value in effect and where it comes from, for everyone; for admins,
 * a form that sets this host's own value (PATCH /hosts/:id) or clears it, so its policies or the
 * default decide again. After a save it renders again from the host the server returned.
 */
export function renderHostOffline(
  box: HTMLElement,
  hostId: string,
  host: Host,
  isAdmin: boolean,
  saved: (host: Host) => void,
  policyNames: ReadonlyMap<string, string>,
): void {
  clear(box);
  const e = host.effective_max_offline_age;
  const old = host.protocol_version !== null && host.protocol_version < 10;
  append(box, [
    h("h2", { id: "offline-h" }, "When the server is down"),
    h(
      "p",
      { class: "offline-age", "data-source": e.source },
      "This host ",
      reach(e.value),
      " (",
      source(host, policyNames),
      ").",
    ),
    old
      ? h(
          "p",
          { class: "warn-text" },
          `Its agent speaks protocol ${host.protocol_version}: it runs nothing while the server is away until it is upgraded.`,
        )
      : null,
  ]);
  if (!isAdmin) return;
  const input = h("input", {
    name: "max_offline_age",
    value: host.max_offline_age ?? "",
    placeholder: e.source === "host" ? "" : `${e.value} (${e.source === "policy" ? "from its policy" : "default"})`,
    autocomplete: "off",
  });
  const ok = h("p", { class: "ok-text", role: "status" });
  const send = async (value: string | null, done: string) => {
    ok.textContent = "";
    try {
      const updated = await api<Host>(`/hosts/${hostId}`, "PATCH", { max_offline_age: value });
      saved(updated);
      renderHostOffline(box, hostId, updated, isAdmin, saved, policyNames);
      (box.querySelector(".ok-text") as HTMLElement).textContent = done;
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    }
  };
  const form = h(
    "form",
    { class: "offline-form" },
    field(
      "This host's own limit",
      input,
      "A duration such as 36h or 7d (10m to 365d), or 0 for never. It wins over its policies. " +
        "Empty: its policies or the default of 7d decide.",
    ),
    h("p", { class: "form-error", role: "alert" }),
    ok,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Save limit"),
      host.max_offline_age !== null
        ? h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: () => void send(null, "Cleared; its policies or the default decide, and the agent has it."),
            },
            "Clear (use policy or default)",
          )
        : null,
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    void send(value === "" ? null : value, "Saved; the agent has the new limit.");
  });
  box.append(form);
}
