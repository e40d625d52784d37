import { ApiFailure, api, type Me, setCsrf } from "../api.ts";
import { field, h, showFormError } from "../dom.ts";

export function loginView(root: HTMLElement, done: (me: Me) => void): void {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit" }, "Log in");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", tabindex: "-1" }, "Restic Fleet"),
    h("p", { class: "muted" }, "Log in to see every host's backups."),
    field("User name", username),
    field("Password", password),
    h("p", { class: "form-error", role: "alert" }),
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const res = await api<{ user: Me["user"]; csrf_token: string }>("/session", "POST", {
        username: username.value,
        password: password.value,
      });
      setCsrf(res.csrf_token);
      done({ user: res.user, csrf_token: res.csrf_token });
    } catch (err) {
      const error = err instanceof ApiFailure ? err.error : { message: String(err) };
      // 401 and 429 (throttled, with the wait) are both shown under the form.
      showFormError(form, { message: error.message });
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(form);
  username.focus();
}
