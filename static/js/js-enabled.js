// The NHS.UK design system's "JavaScript is on" classes, set before the body is drawn (its
// template does this inline; a file keeps the Content-Security-Policy free of inline script).
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
