/**
 * The signed-in user's own account: change the password, set up or turn off an authenticator app
 * (TOTP, with its one-time recovery codes), add passkeys. The secret and the recovery codes live only
 * in this page's DOM, and are dropped when the user is done or leaves the page.
 */
import type { Me } from "../api.ts";
import type { ViewContext, View } from "../context.ts";
import { type Child, fill, h, uid } from "../dom.ts";
import { act, button, confirmAction, errorSlot, field, form, pageHeading } from "../ui.ts";
import { createPasskey, passkeysSupported } from "../webauthn.ts";

interface TotpStart {
  secret: string;
  otpauth_uri: string;
}

function card(title: string, ...children: Child[]): HTMLElement {
  const id = uid("card-title");
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

const actions = (...children: Child[]) => h("div", { class: "actions" }, ...children);

async function copy(context: ViewContext, what: string, text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    context.notices.success(`${what} copied.`);
  } catch {
    // Clipboard access can be refused; the text stays on screen to copy by hand.
  }
}

/** A TOTP code (six digits, spaces allowed) goes as `code`; anything else is the password. */
function codeOrPassword(value: string): { code: string } | { password: string } {
  const digits = value.replace(/\s/g, "");
  return /^\d{6}$/.test(digits) ? { code: digits } : { password: value };
}

export const accountView: View = (root, context) => {
  const totpBody = h("div");
  const passkeyBody = h("div");
  const loadError = errorSlot();
  let left = false;

  async function load(): Promise<void> {
    let me: Me | undefined;
    await act(context.notices, loadError, undefined, async () => {
      me = await context.api.get<Me>("/auth/me");
    });
    if (!me || left) return;
    if (me.mfa?.totp) totpOn(me.mfa.recovery_codes_remaining);
    else totpOff();
    passkeys(me.passkeys ?? 0);
  }

  // --- Authenticator app -------------------------------------------------------------------------

  function totpOff(): void {
    const error = errorSlot();
    const start = h("button", { type: "button", class: "primary" }, "Set up authenticator app");
    start.addEventListener("click", async () => {
      let started: TotpStart | undefined;
      await act(context.notices, error, start, async () => {
        started = await context.api.send<TotpStart>("POST", "/auth/mfa/totp");
      });
      if (started && !left) totpEnrol(started);
    });
    fill(
      totpBody,
      h("p", null, h("span", { class: "badge off" }, "Off"), " Signing in asks only for your password."),
      h("p", { class: "muted" }, "With an authenticator app, signing in also asks for a six-digit code from the app on your phone."),
      error,
      actions(start),
    );
  }

  function totpEnrol({ secret, otpauth_uri: uri }: TotpStart): void {
    // Groups of four are easier to type; authenticator apps ignore the spaces.
    const grouped = secret.match(/.{1,4}/g)?.join(" ") ?? secret;
    const code = h("input", { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9 ]{6,7}", required: true });
    const error = errorSlot();
    const confirm = h("button", { type: "submit", class: "primary" }, "Confirm");
    const copyKey = button("Copy key", () => void copy(context, "Key", secret), { "aria-label": "Copy the key" });
    const confirmCode = async () => {
      let codes: string[] | undefined;
      await act(context.notices, error, confirm, async () => {
        ({ recovery_codes: codes } = await context.api.send<{ recovery_codes: string[] }>("POST", "/auth/mfa/totp/confirm", { code: code.value.replace(/\s/g, "") }));
      });
      if (!codes || left) return;
      context.notices.success("Authenticator app turned on: signing in now asks for a code from it.");
      recoveryCodes(codes, "Keep them somewhere safe, apart from your phone.");
    };
    fill(
      totpBody,
      h(
        "section",
        { role: "region", "aria-label": "Authenticator secret", class: "secret-box" },
        h("p", { class: "secret-warning" }, h("strong", null, "Enter this key in your authenticator app"), " (as a time-based key). It is shown only now."),
        h("div", { class: "secret-row" }, h("span", { class: "secret-name" }, "Key"), " ", h("code", { class: "secret grouped" }, grouped), " ", copyKey),
        h("p", { class: "hint" }, "Or, in an app that accepts setup links (otpauth://), paste this link:"),
        h("code", { class: "secret uri" }, uri),
      ),
      form(
        "Confirm the authenticator app",
        () => void confirmCode(),
        field("Code from the app", code, "The six-digit code the app shows for this key."),
        error,
        actions(confirm, button("Cancel", () => void load())),
      ),
    );
    copyKey.focus();
  }

  function recoveryCodes(codes: readonly string[], intro: string): void {
    const copyAll = button("Copy recovery codes", () => void copy(context, "Recovery codes", codes.join("\n")));
    fill(
      totpBody,
      h(
        "section",
        { role: "region", "aria-label": "Recovery codes", class: "secret-box" },
        h(
          "p",
          { class: "secret-warning" },
          h("strong", null, "Save these recovery codes now: they will not be shown again."),
          ` Each one signs you in once if you lose your authenticator app. ${intro}`,
        ),
        h("ul", { class: "codes" }, codes.map((c) => h("li", null, h("code", null, c)))),
        actions(copyAll, button("Done", () => void load().then(() => totpBody.querySelector("button")?.focus()))),
      ),
    );
    copyAll.focus();
  }

  function totpOn(remaining: number): void {
    const proof = h("input", { type: "password", name: "code_or_password", autocomplete: "current-password", required: true });
    const error = errorSlot();
    const turnOff = h("button", { type: "submit", class: "danger" }, "Turn off authenticator app");
    const renew = h("button", { type: "button" }, "Replace recovery codes");
    const low = remaining <= 3;
    const off = async () => {
      const ok = await confirmAction(
        "Turn off the authenticator app?",
        "Signing in will ask only for your password, and your recovery codes stop working.",
      );
      if (!ok) return;
      const done = await act(context.notices, error, turnOff, () => context.api.send("DELETE", "/auth/mfa/totp", codeOrPassword(proof.value)));
      if (!done || left) return;
      await load();
      context.notices.success("Authenticator app turned off.");
    };
    renew.addEventListener("click", async () => {
      if (!proof.reportValidity()) return;
      let codes: string[] | undefined;
      await act(context.notices, error, renew, async () => {
        ({ recovery_codes: codes } = await context.api.send<{ recovery_codes: string[] }>("POST", "/auth/mfa/recovery-codes", codeOrPassword(proof.value)));
      });
      if (!codes || left) return;
      context.notices.success("New recovery codes made; the old ones no longer work.");
      recoveryCodes(codes, "The old codes no longer work.");
    });
    fill(
      totpBody,
      h("p", null, h("span", { class: "badge on" }, "On"), " Signing in asks for a code from your authenticator app."),
      h("p", { class: low ? "warn" : "muted" }, `Recovery codes left: ${remaining}.`, low ? " Replace them before you run out." : ""),
      form(
        "Turn off or replace recovery codes",
        () => void off(),
        field("Code or password", proof, "A current code from your authenticator app, or your password."),
        error,
        actions(renew, turnOff),
      ),
    );
  }

  // --- Passkeys ----------------------------------------------------------------------------------

  function passkeys(count: number): void {
    const summary = count === 0 ? "You have no passkeys yet." : count === 1 ? "You have 1 passkey." : `You have ${count} passkeys.`;
    const intro = h("p", { class: "muted" }, "A passkey signs you in without a password or code: your device's screen lock or a security key proves it is you.");
    if (!passkeysSupported()) {
      fill(passkeyBody, h("p", null, summary), intro, h("p", { class: "warn" }, "This browser does not support passkeys (or the page is not served over HTTPS), so none can be added here."));
      return;
    }
    const error = errorSlot();
    const add = h("button", { type: "button", class: "primary" }, "Add a passkey");
    add.addEventListener("click", async () => {
      let outcome: "added" | "cancelled" | undefined;
      await act(context.notices, error, add, async () => {
        const options = await context.api.send<PublicKeyCredentialCreationOptionsJSON>("POST", "/auth/webauthn/register/options", {});
        const credential = await createPasskey(options);
        if (!credential) {
          outcome = "cancelled";
          return;
        }
        await context.api.send("POST", "/auth/webauthn/register/verify", credential);
        outcome = "added";
      });
      if (!outcome || left) return;
      if (outcome === "cancelled") {
        context.notices.info("No passkey was added: the browser's request was cancelled or timed out. You can try again.");
        return;
      }
      await load();
      context.notices.success("Passkey added. You can now sign in with it.");
      passkeyBody.querySelector("button")?.focus();
    });
    fill(passkeyBody, h("p", null, summary), intro, error, actions(add));
  }

  // --- Password ----------------------------------------------------------------------------------

  const current = h("input", { type: "password", name: "current_password", autocomplete: "current-password", required: true });
  const next = h("input", { type: "password", name: "new_password", autocomplete: "new-password", required: true, maxlength: 256 });
  const passwordError = errorSlot();
  const change = h("button", { type: "submit", class: "primary" }, "Change password");
  const changePassword = async () => {
    const done = await act(context.notices, passwordError, change, () =>
      context.api.send("POST", "/auth/password", { current_password: current.value, new_password: next.value }),
    );
    if (!done) return;
    current.value = next.value = "";
    context.notices.success("Password changed. You stay signed in here; every other session was signed out.");
  };

  const passwordCard = card(
    "Change password",
    form(
      undefined,
      () => void changePassword(),
      field("Current password", current),
      field("New password", next, "At least 15 characters. A few unrelated words make a good one; common and leaked passwords are refused."),
      passwordError,
      actions(change),
    ),
  );
  fill(
    root,
    pageHeading("My account"),
    h("p", { class: "muted" }, "Signed in as ", h("strong", null, context.me.email), "."),
    loadError,
    h("div", { class: "account-cards" }, passwordCard, card("Authenticator app", totpBody), card("Passkeys", passkeyBody)),
  );
  void load();
  return () => {
    left = true;
    fill(totpBody);
  };
};
