import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { clear, field, h, showFormError } from "../dom.ts";
import { absolute, plural } from "../format.ts";
import { labelTags, parseLabelText } from "../labels.ts";
import type { EnrollmentToken } from "../types.ts";
import { renderEnrollmentTokens } from "./tokens.ts";

/** As created: the secret, shown once. */
type Token = EnrollmentToken & { token: string };

function snippet(title: string, text: string) {
  const pre = h("pre", { tabindex: "0" }, h("code", {}, text));
  return h(
    "div",
    { class: "snippet" },
    h("h3", {}, title),
    pre,
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async (e: Event) => {
          await navigator.clipboard?.writeText(text).catch(() => {});
          (e.currentTarget as HTMLButtonElement).textContent = "Copied";
        },
      },
      "Copy",
    ),
  );
}

/** Create an enrollment token and get ready-to-paste install commands for each platform. */
export const enrollView: View = async (root, ctx) => {
  if (!ctx.isAdmin) {
    root.append(h("h1", { tabindex: "-1" }, "Add hosts"), h("p", {}, "Only admins can create enrollment tokens."));
    return;
  }
  const uses = h("input", { name: "uses", type: "number", min: 1, max: 100000, value: "1" });
  const expires = h(
    "select",
    { name: "expires_in" },
    ...[
      ["1h", "1 hour"],
      ["24h", "24 hours"],
      ["7d", "7 days"],
      ["30d", "30 days"],
    ].map(([v, t]) => h("option", { value: v }, t)),
  );
  expires.value = "24h";
  const labels = h("input", { name: "labels", placeholder: "env=prod, role=db", autocomplete: "off" });
  const out = h("div", { "aria-live": "polite" });
  const list = h("section", { class: "card", "aria-labelledby": "tokens-h" });
  const form = h(
    "form",
    { class: "card" },
    field("How many hosts may enroll with it", uses),
    field("Valid for", expires),
    field(
      "Labels (key=value, comma-separated)",
      labels,
      "Every host enrolled with this token gets these labels; its agent cannot choose its own.",
    ),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, "Create enrollment token"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const parsed = parseLabelText(labels.value);
    if (!parsed.ok) {
      showFormError(form, { message: parsed.message, path: "labels" });
      return;
    }
    try {
      const t = await api<Token>("/enrollment-tokens", "POST", {
        uses: Number(uses.value),
        expires_in: expires.value,
        labels: parsed.labels,
      });
      showFormError(form, { message: "" });
      labels.removeAttribute("aria-invalid");
      void renderEnrollmentTokens(list).then(() => list.append(tokensLink()));
      const info = await api<{ tls_fingerprint: string | null; agent_deb: string | null }>("/server-info");
      const server = location.origin;
      // The agent pins the certificate this page was served with: nobody in between can replace it.
      const fp = info.tls_fingerprint;
      const pin = fp ? ` --fingerprint ${fp}` : "";
      clear(out);
      out.append(
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Your token"),
          h(
            "p",
            {},
            `Good for ${plural(t.uses_left, "host")} until `,
            h("time", { datetime: t.expires_at }, absolute(t.expires_at)),
            ". It is shown only now.",
          ),
          labelTags(t.labels),
          h("pre", { class: "token", tabindex: "0" }, h("code", {}, t.token)),
          fp
            ? h("p", {}, "The commands pin this server's certificate: ", h("code", {}, fp), ".")
            : location.protocol === "http:"
              ? h(
                  "p",
                  { class: "error", role: "note" },
                  "This server does not serve TLS: agents on other machines refuse to enroll over plain http, " +
                    "and would get no repository password over it. Start it with --tls self-signed " +
                    "(docs/install.md, Secure the link).",
                )
              : null,
          snippet(
            "Debian / Ubuntu (.deb)",
            `sudo apt-get install ./${info.agent_deb ?? "restic-fleet-agent_<version>_amd64.deb"}\nsudo restic-fleet-agent enroll --server ${server} --token ${t.token}${pin}\nsudo systemctl enable --now restic-fleet-agent`,
          ),
          snippet(
            "Any Linux (single executable)",
            `sudo install -m 0755 restic-fleet-agent-linux-x64 /usr/local/bin/restic-fleet-agent\nsudo restic-fleet-agent enroll --server ${server} --token ${t.token}${pin}\nsudo restic-fleet-agent run`,
          ),
          snippet(
            "Windows (Chocolatey, as Administrator)",
            `choco install restic-fleet-agent --params "'/Server:${server} /EnrollToken:${t.token}${fp ? ` /Fingerprint:${fp}` : ""}'"`,
          ),
        ),
      );
      out.querySelector<HTMLElement>("h2")?.focus();
    } catch (err) {
      showFormError(form, err instanceof ApiFailure ? err.error : { message: String(err) });
    }
  });
  root.append(
    h("h1", { tabindex: "-1" }, "Add hosts"),
    h(
      "p",
      {},
      "Create a token, then run the commands for the host's platform. The host appears on the fleet page as soon as its agent connects.",
    ),
    form,
    out,
    list,
  );
  await renderEnrollmentTokens(list);
  list.append(tokensLink());
};

const tokensLink = () =>
  h(
    "p",
    { class: "tokens-link" },
    "All tokens, and API tokens for scripts: ",
    h("a", { href: "#/tokens" }, "Tokens"),
    ".",
  );
