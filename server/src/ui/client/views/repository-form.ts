import {
  BACKENDS,
  type Backend,
  type BackendField,
  parseRepositoryUrl,
} from "../../../../../protocol/repository-backends.ts";
import { ApiFailure, api } from "../api.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import type { Repository } from "../types.ts";
import { formActions } from "../widgets.ts";

const HOST_TOKEN = "{host}";
/** The URL typed as text, for a backend the form has no fields for (swift:, smb:, ...). */
const OTHER = "other";

/**
 * A write-only secret: empty means "leave as is" (placeholder "unchanged"); clearing it needs the
 * checkbox, which sends "".
 */
export function secretField(label: string, name: string, isSet: boolean, editing: boolean, hint?: string) {
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
    field(`${label} (${isSet ? "set" : "not set"}; write-only)`, input, hint),
    editing && isSet
      ? h("div", { class: "field inline" }, clearBox, h("label", { for: clearBox.id }, "clear it"))
      : null,
  );
  /** undefined: leave it; "": clear it; otherwise the new value. */
  const value = () => (clearBox.checked ? "" : input.value || undefined);
  return { el, value };
}

/** The label of a field: its name, and the restic variable it is sent as. */
const labelOf = (f: BackendField) => (f.env ? `${f.label} → ${f.env}` : f.label);

/** One backend's fields, filled from the repository being edited; read back by values(). */
function backendFields(b: Backend, existing: Repository | null, parts: Record<string, string>) {
  const urlInputs = new Map<string, HTMLInputElement>();
  const plainEnv = new Map<string, HTMLInputElement>();
  const secretEnv = new Map<string, ReturnType<typeof secretField>>();
  const els = b.fields.map((f) => {
    const name = `${b.id}-${f.key}`;
    if (f.env && f.secret) {
      const isSet = existing?.secret_env.includes(f.env) ?? false;
      const s = secretField(labelOf(f), name, isSet, existing !== null, f.hint);
      secretEnv.set(f.env, s);
      return s.el;
    }
    const input = h("input", {
      name,
      value: f.env ? (existing?.env[f.env] ?? "") : (parts[f.key] ?? ""),
      placeholder: f.placeholder ?? "",
      autocomplete: "off",
      spellcheck: "false",
      "data-env": f.env,
    });
    if (f.env) plainEnv.set(f.env, input);
    else urlInputs.set(f.key, input);
    return field(f.required ? labelOf(f) : `${labelOf(f)} (optional)`, input, f.hint);
  });
  return {
    els,
    inputs: [...urlInputs.values(), ...plainEnv.values()],
    url: () => b.build(Object.fromEntries([...urlInputs].map(([k, i]) => [k, i.value]))),
    /** Every variable of this backend: plain ones as typed ("" removes), secret ones only when changed. */
    env(): Record<string, string> {
      const env: Record<string, string> = {};
      for (const [name, input] of plainEnv) env[name] = input.value.trim();
      for (const [name, s] of secretEnv) {
        const v = s.value();
        if (v !== undefined) env[name] = v;
      }
      return env;
    },
  };
}

/** The repository form: a backend, its fields and their restic variables, the URL they make. */
export function repositoryForm(existing: Repository | null, done: (changed: boolean) => Promise<void>) {
  const parsed = existing ? parseRepositoryUrl(existing.url) : null;
  const start = existing ? (parsed?.backend ?? OTHER) : "local";
  const name = h("input", { name: "name", value: existing?.name ?? "", autocomplete: "off", required: true });
  const backend = h(
    "select",
    { name: "backend" },
    BACKENDS.map((b) => h("option", { value: b.id }, b.label)),
    h("option", { value: OTHER }, "Other (URL as text)"),
  );
  backend.value = start;
  const otherUrl = h("input", {
    name: "url",
    value: existing && start === OTHER ? existing.url : "",
    placeholder: "swift:container:/path",
    autocomplete: "off",
    spellcheck: "false",
  });
  const username = h("input", { name: "username", value: existing?.username ?? "", autocomplete: "off" });
  const credential = secretField("Backend credential", "credential", existing?.has_credential ?? false, !!existing);
  const password = secretField("Repository password", "password", existing?.has_password ?? false, !!existing);
  const autoInit = h("input", {
    name: "auto_init",
    type: "checkbox",
    id: "repo-auto-init",
    checked: !!existing?.auto_init,
  });
  const fieldsBox = h("fieldset", { class: "backend-fields", "data-field": "env" });
  const preview = h("output", { class: "url-preview", "aria-live": "polite", name: "url-preview" });
  const urlHint = h("p", { class: "hint" });
  // The older pair (one user name, one credential), kept for repositories made before the forms.
  const legacy = h(
    "div",
    { class: "legacy-credentials" },
    field("Backend user name", username, "The older way: for rest:, s3:, b2:, azure:, swift:; empty clears it."),
    credential.el,
  );
  const showLegacy = !!existing && (existing.username !== null || existing.has_credential);
  let current = backendFields(BACKENDS[0] as Backend, null, {});

  const url = () => (backend.value === OTHER ? otherUrl.value.trim() : current.url());
  const refresh = () => {
    const u = url();
    preview.textContent = u || "–";
    urlHint.textContent = u.includes(HOST_TOKEN)
      ? `Per-host template: each host gets its own repository (${HOST_TOKEN} = its restic host name); without a password, one is generated per host.`
      : `Shared: every host uses this one repository, which needs a password. Put ${HOST_TOKEN} in a field for one repository per host.`;
    // The list masks a password inside the URL: saving a changed URL would store the mask.
    if (u.includes("***@"))
      urlHint.textContent += " The URL's password is masked (***): give it in its own field instead.";
  };
  const render = () => {
    clear(fieldsBox);
    const b = BACKENDS.find((x) => x.id === backend.value);
    const sameAsSaved = existing !== null && backend.value === start;
    fieldsBox.append(h("legend", {}, b ? `${b.label} settings` : "Repository URL"));
    if (b) {
      current = backendFields(b, sameAsSaved ? existing : null, sameAsSaved ? (parsed?.parts ?? {}) : {});
      fieldsBox.append(...current.els, h("p", { class: "field-error", role: "alert" }));
      for (const i of current.inputs) i.addEventListener("input", refresh);
    } else {
      fieldsBox.append(field("URL", otherUrl, "Any URL restic takes; its variables cannot be set here."));
    }
    legacy.hidden = !(showLegacy || backend.value === OTHER);
    refresh();
  };
  backend.addEventListener("change", render);
  otherUrl.addEventListener("input", refresh);
  render();

  const submit = h("button", { type: "submit" }, existing ? "Save repository" : "Create repository");
  const form = h(
    "form",
    { class: "card repo-form", "aria-label": existing ? `Edit repository ${existing.name}` : "New repository" },
    h("h2", {}, existing ? `Edit ${existing.name}` : "New repository"),
    field("Name", name),
    field("Backend", backend),
    fieldsBox,
    h(
      "div",
      { class: "field", "data-field": "url" },
      h("span", { class: "label" }, "Repository URL"),
      preview,
      urlHint,
    ),
    h("p", { class: "field-error", role: "alert" }),
    password.el,
    legacy,
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
    const body: Record<string, unknown> = { name: name.value.trim(), url: url(), auto_init: autoInit.checked };
    // The URL is shown with any password in it masked: send it only when it changed.
    if (existing && body.url === existing.url) delete body.url;
    const env: Record<string, string> = backend.value === OTHER ? {} : current.env();
    // Variables of the backend it had are cleared when it moves to another.
    for (const old of [...Object.keys(existing?.env ?? {}), ...(existing?.secret_env ?? [])]) {
      if (!(old in env) && !(backend.value === start)) env[old] = "";
    }
    if (Object.keys(env).length > 0) body.env = env;
    if (!legacy.hidden && (!existing || username.value.trim() !== (existing.username ?? ""))) {
      body.username = username.value.trim();
    }
    const cred = credential.value();
    if (!legacy.hidden && cred !== undefined) body.credential = cred;
    const pw = password.value();
    if (pw !== undefined) body.password = pw;
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
