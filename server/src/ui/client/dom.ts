/** A tiny hyperscript: h("button", { onclick, class: "x" }, "text", child). No innerHTML anywhere. */
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key === "class") {
      el.className = String(value);
    } else if (
      key === "value" &&
      (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement)
    ) {
      el.value = String(value);
    } else if (key === "checked" && el instanceof HTMLInputElement) {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

const SVG = "http://www.w3.org/2000/svg";
export function s(tag: string, attrs: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

let ids = 0;
/** A labelled form field: <label for=id>text</label><input id=id ...>. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
) {
  if (!control.id) control.id = `f${++ids}`;
  const err = h("p", { class: "field-error", id: `${control.id}-error`, role: "alert" });
  control.setAttribute("aria-describedby", err.id);
  return h(
    "div",
    { class: "field", "data-field": control.name || undefined },
    h("label", { for: control.id }, label),
    control,
    hint ? h("p", { class: "hint" }, hint) : null,
    err,
  );
}

/**
 * Shows an API error next to the field it names (error.path), or in the form's own error slot.
 * A path into a list item (`schedules.0.cron_expr`) finds the field inside the element marked
 * `data-scope="schedules.0"`, when the form has one; otherwise its first segment names the field.
 */
export function showFormError(form: HTMLElement, error: { message: string; path?: string }): void {
  for (const el of form.querySelectorAll(".field-error, .form-error")) el.textContent = "";
  const parts = error.path?.split(".") ?? [];
  let scope: HTMLElement = form;
  let top = parts[0];
  for (let k = parts.length - 1; k > 0; k--) {
    const inner = form.querySelector<HTMLElement>(`[data-scope="${CSS.escape(parts.slice(0, k).join("."))}"]`);
    if (inner) {
      scope = inner;
      top = parts[k];
      break;
    }
  }
  const slot = top ? scope.querySelector(`[data-field="${CSS.escape(top)}"] .field-error`) : null;
  const target = slot ?? form.querySelector(".form-error");
  // Inside its list item, "schedules.0: a backup schedule needs…" needs no "schedules.0: ".
  const prefix = scope === form ? "" : `${scope.getAttribute("data-scope")}: `;
  // ... nor "copy_targets.1.repository_id: " beside the repository box.
  const fieldPrefix = prefix && top ? `${prefix.slice(0, -2)}.${top}: ` : "";
  if (target)
    target.textContent =
      fieldPrefix && error.message.startsWith(fieldPrefix)
        ? error.message.slice(fieldPrefix.length)
        : prefix && error.message.startsWith(prefix)
          ? error.message.slice(prefix.length)
          : error.message;
  const input = top ? scope.querySelector<HTMLElement>(`[name="${CSS.escape(top)}"]`) : null;
  input?.setAttribute("aria-invalid", "true");
  input?.focus();
}
