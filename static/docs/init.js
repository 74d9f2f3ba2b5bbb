// Mounts the API reference on the document the page names (/openapi.json), from this origin only:
// the page's CSP allows nothing else, so the viewer's default web fonts and telemetry stay off.
const app = document.getElementById('app')
Scalar.createApiReference(app, { url: app.dataset.url, defaultOpenAllTags: true, withDefaultFonts: false, hideClientButton: true, telemetry: false })
