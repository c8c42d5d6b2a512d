/** Sign-in: email and password, then a second factor when the account has one; or a passkey. Opens a cookie session. */
import { type Api, ApiError, type MfaChallenge } from "../api.ts";
import type { Notices } from "../context.ts";
import { fill, h } from "../dom.ts";
import { act, button, errorSlot, field, form, pageHeading } from "../ui.ts";
import { getPasskey, passkeysSupported } from "../webauthn.ts";

export interface SignInDeps {
  api: Api;
  notices: Notices;
  /** Loads the signed-in user and shows the console; a failure is shown on the form. */
  onSignedIn(): Promise<void>;
}

export function signInView(root: HTMLElement, deps: SignInDeps): void {
  const heading = pageHeading("Sign in to the Rampart console");
  const step = h("div");
  fill(root, h("section", { class: "card narrow" }, heading, step));
  passwordStep(step, deps);
}

function passwordStep(step: HTMLElement, deps: SignInDeps): void {
  // type=text: the browser's email syntax is stricter than the server's, and the server decides.
  const email = h("input", { type: "text", inputmode: "email", name: "email", autocomplete: "username", required: true, spellcheck: "false" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = errorSlot();
  // Shown when a role of the user requires a second factor the user has not set up (403 enrolment_required).
  const enrolment = h(
    "p",
    { class: "warn", hidden: true },
    "Your account needs a second factor before it can sign in with a password. If you have a passkey, sign in with it, then set up an authenticator app under My account; otherwise ask an administrator for help.",
  );
  // Shown when such a role meets a user whose second factor is a passkey (403 passkey_required).
  const usePasskey = h("p", { class: "warn", hidden: true }, "Your account signs in with its passkey: choose “Use a passkey” below.");
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const signIn = () => {
    enrolment.hidden = true;
    usePasskey.hidden = true;
    return act(deps.notices, error, submit, async () => {
      try {
        const answer = await deps.api.login(email.value.trim(), password.value);
        password.value = "";
        if ("mfa_required" in answer) secondFactorStep(step, deps, answer);
        else await deps.onSignedIn();
      } catch (failure) {
        if (failure instanceof ApiError && failure.enrolmentRequired) enrolment.hidden = false;
        if (failure instanceof ApiError && failure.passkeyRequired) usePasskey.hidden = false;
        throw failure;
      }
    });
  };
  // Not "Sign in with a passkey": every accessible name on this page that contains "Sign in" would also
  // be found by a search for the Sign in button (test/browser/console.test.ts looks for it that way).
  const passkey = passkeysSupported() ? h("button", { type: "button" }, "Use a passkey") : undefined;
  passkey?.addEventListener("click", async () => {
    enrolment.hidden = true;
    let cancelled = false;
    await act(deps.notices, error, passkey, async () => {
      const address = email.value.trim();
      // With an email, only that user's passkeys are asked for; without, the browser offers its own.
      const options = await deps.api.send<PublicKeyCredentialRequestOptionsJSON>("POST", "/auth/webauthn/login/options", address ? { email: address } : {});
      const assertion = await getPasskey(options);
      if (!assertion) {
        cancelled = true;
        return;
      }
      await deps.api.loginWithPasskey(assertion);
      password.value = "";
      await deps.onSignedIn();
    });
    if (cancelled) deps.notices.info("The passkey request was cancelled or timed out. Try again, or sign in with your password.");
  });
  fill(
    step,
    form("Sign in", () => void signIn(), field("Email", email), field("Password", password), error, enrolment, usePasskey, h("div", { class: "actions" }, submit)),
    passkey ? h("div", { class: "alternative" }, h("p", { class: "muted" }, "Or sign in without a password:"), passkey) : null,
  );
  email.focus();
}

function secondFactorStep(step: HTMLElement, deps: SignInDeps, challenge: MfaChallenge): void {
  let recovery = false;
  const code = h("input", { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9 ]{6,7}", required: true });
  const recoveryCode = h("input", { type: "text", name: "recovery_code", autocomplete: "off", spellcheck: "false", required: true });
  const codeField = field("Authentication code", code, "The six-digit code from your authenticator app.");
  const recoveryField = field("Recovery code", recoveryCode, "One of the recovery codes you saved when you set up the second factor.");
  recoveryField.hidden = true;
  recoveryCode.disabled = true;
  const toggle = button("Use a recovery code", () => {
    recovery = !recovery;
    codeField.hidden = code.disabled = recovery;
    recoveryField.hidden = recoveryCode.disabled = !recovery;
    toggle.textContent = recovery ? "Use an authentication code" : "Use a recovery code";
    (recovery ? recoveryCode : code).focus();
  });
  toggle.hidden = !challenge.methods.includes("recovery_code");
  const error = errorSlot();
  const submit = h("button", { type: "submit", class: "primary" }, "Verify");
  const verify = () =>
    act(deps.notices, error, submit, async () => {
      const proof = recovery ? { recovery_code: recoveryCode.value.trim() } : { code: code.value.replace(/\s/g, "") };
      await deps.api.verifyMfa(challenge.mfa_token, proof);
      await deps.onSignedIn();
    });
  fill(
    step,
    h("p", null, "This account has a second factor. Enter the code from your authenticator app."),
    form("Second factor", () => void verify(), codeField, recoveryField, toggle, error, h("div", { class: "actions" }, submit, button("Start over", () => passwordStep(step, deps)))),
  );
  code.focus();
}
