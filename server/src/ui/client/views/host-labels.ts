import { ApiFailure, api } from "../api.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import { labelTags, labelText, parseLabelText } from "../labels.ts";
import type { Host } from "../types.ts";

/**
 * The host's labels, into `box`: tags for everyone, and for admins an edit form that replaces the
 * whole map (PATCH /hosts/:id {labels}). After a save it renders again from the host the server
 * returned, and hands that to `saved`.
 */
export function renderHostLabels(
  box: HTMLElement,
  hostId: string,
  host: Host,
  isAdmin: boolean,
  saved: (host: Host) => void,
): void {
  clear(box);
  box.append(h("h2", { id: "labels-h" }, "Labels"), labelTags(host.labels) ?? h("p", { class: "muted" }, "No labels."));
  if (!isAdmin) return;
  const input = h("input", {
    name: "labels",
    value: labelText(host.labels),
    placeholder: "env=prod, role=db",
    autocomplete: "off",
  });
  const ok = h("p", { class: "ok-text", role: "status" });
  const form = h(
    "form",
    {},
    field("Labels (key=value, comma-separated)", input, "Replaces all of this host's labels. Empty removes them."),
    h("p", { class: "form-error", role: "alert" }),
    ok,
    h("button", { type: "submit" }, "Save labels"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ok.textContent = "";
    const parsed = parseLabelText(input.value);
    if (!parsed.ok) {
      showFormError(form, { message: parsed.message, path: "labels" });
      return;
    }
    try {
      const updated = await api<Host>(`/hosts/${hostId}`, "PATCH", { labels: parsed.labels });
      saved(updated);
      renderHostLabels(box, hostId, updated, isAdmin, saved);
      (box.querySelector(".ok-text") as HTMLElement).textContent = "Labels saved.";
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    }
  });
  box.append(form);
}
