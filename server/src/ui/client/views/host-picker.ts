import { api } from "../api.ts";
import { clear, h } from "../dom.ts";
import type { Host, List } from "../types.ts";

/** Names offered while typing. */
const OFFERED = 20;
const TYPING_MS = 150;

/**
 * A host chooser for a fleet of any size: a search box that offers the hosts whose name holds
 * what is typed (GET /hosts?q=, as you type) instead of a menu of every host. `input` carries
 * the chosen host's id (empty: none) under `name`, and fires "change" when the choice changes,
 * so a form reads it as it reads a select.
 */
export function hostPicker(opts: { name: string; label: string; every: string; value: string }) {
  const input = h("input", { type: "hidden", name: opts.name, value: opts.value });
  const list = h("datalist", { id: `${opts.name}-hosts` });
  const box = h("input", {
    type: "search",
    "aria-label": opts.label,
    placeholder: `${opts.every} (type a name)`,
    list: list.id,
    autocomplete: "off",
    spellcheck: "false",
  });
  const error = h("p", { class: "field-error", role: "alert" });
  let offered: Host[] = [];
  const search = async (text: string) =>
    (await api<List<Host>>(`/hosts?q=${encodeURIComponent(text)}&sort=name&limit=${OFFERED}`)).items;

  let typing: ReturnType<typeof setTimeout> | null = null;
  box.addEventListener("input", () => {
    if (typing) clearTimeout(typing);
    typing = setTimeout(async () => {
      typing = null;
      offered = box.value.trim() ? await search(box.value.trim()).catch(() => []) : [];
      clear(list);
      list.append(...offered.map((x) => h("option", { value: x.name })));
    }, TYPING_MS);
  });
  box.addEventListener("change", async () => {
    const text = box.value.trim();
    let id = "";
    if (text) {
      const named = (xs: Host[]) => xs.find((x) => x.name.toLowerCase() === text.toLowerCase());
      let found = named(offered);
      if (!found) {
        offered = await search(text).catch(() => []);
        found = named(offered);
      }
      const only = offered.length === 1 ? offered[0] : undefined;
      id = (found ?? only)?.id ?? "";
      if (!id) {
        error.textContent = `no host is named "${text}": type part of a name and pick one`;
        box.setAttribute("aria-invalid", "true");
        return;
      }
      box.value = (found ?? only)?.name ?? text;
    }
    error.textContent = "";
    box.removeAttribute("aria-invalid");
    if (id === input.value) return;
    input.value = id;
    input.dispatchEvent(new Event("change"));
  });
  // A host given by id (a shared address): show its name.
  if (opts.value) {
    void api<Host>(`/hosts/${encodeURIComponent(opts.value)}`).then(
      (x) => {
        box.value = x.name;
      },
      () => {
        box.value = opts.value;
      },
    );
  }
  return { input, el: h("span", { class: "host-picker" }, box, list, input, error) };
}
