// Compare page: choosing another baseline reloads the comparison (no inline handlers: CSP script-src 'self').
for (const select of document.querySelectorAll("[data-submit-on-change]")) {
  select.addEventListener("change", () => select.form.submit());
}
