/** Sign-in: email and password, then a second factor when the account has one. Opens a cookie session. */
import type { Api, MfaChallenge } from "../api.ts";
import type { Notices } from "../context.ts";
import { fill, h } from "../dom.ts";
import { act, button, errorSlot, field, form, pageHeading } from "../ui.ts";

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
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const signIn = () =>
    act(deps.notices, error, submit, async () => {
      const answer = await deps.api.login(email.value.trim(), password.value);
      password.value = "";
      if ("mfa_required" in answer) secondFactorStep(step, deps, answer);
      else await deps.onSignedIn();
    });
  fill(step, form("Sign in", () => void signIn(), field("Email", email), field("Password", password), error, h("div", { class: "actions" }, submit)));
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
