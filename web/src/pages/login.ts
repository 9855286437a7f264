import { ApiError, Me, post, setCsrf } from "../api";
import { h, notice, replace } from "../dom";
import { PageContext } from "../page";

export function loginPage(ctx: PageContext): void {
  const user = h("input", { name: "user", id: "login-user", autocomplete: "username", required: true });
  const password = h("input", {
    name: "password",
    id: "login-password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const message = h("div", {});
  const form = h(
    "form",
    { class: "card", id: "login-form" },
    h("h1", {}, "Sign in to Tandem"),
    h("label", { for: "login-user" }, "User"),
    user,
    h("label", { for: "login-password" }, "Password"),
    password,
    message,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    replace(message);
    post<Me & { csrf_token: string }>("/api/login", { user: user.value, password: password.value })
      .then((res) => {
        setCsrf(res.csrf_token);
        ctx.signedIn({ user: res.user, role: res.role });
        ctx.navigate("/tasks", true);
      })
      .catch((e: unknown) => {
        const text =
          e instanceof ApiError && e.status === 429
            ? "Too many failed sign-ins for this user; try again later."
            : e instanceof ApiError && e.status === 401
              ? "Wrong user name or password."
              : `Sign-in failed: ${String((e as Error).message)}`;
        replace(message, notice("error", text));
        password.value = "";
      });
  });
  replace(ctx.root, form);
  user.focus();
}
