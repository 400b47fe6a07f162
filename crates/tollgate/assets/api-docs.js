// The admin API reference at /admin/v1/docs: Swagger UI (vendored, served by Tollgate) over
// the admin OpenAPI document. "Authorize" gets a token with the client credentials grant at
// this server's token endpoint; "Try it out" then calls the API with it.
'use strict';

(function () {
  var root = document.getElementById('swagger-ui');
  var tokenUrl = root.getAttribute('data-token-url');
  var specUrl = root.getAttribute('data-spec-url');

  // Swagger UI leaves a few controls without an accessible name, and names its authorize
  // buttons differently from what they read; name them, whenever it renders them.
  var NAMES = [
    ['select#servers', 'Server'],
    ['button.close-modal', 'Close'],
  ];
  // Code blocks scroll sideways; the keyboard must reach them too.
  var SCROLLERS = 'pre.curl, .highlight-code pre, pre.microlight';
  function nameControls() {
    NAMES.forEach(function (pair) {
      root.querySelectorAll(pair[0]).forEach(function (el) {
        if (el.getAttribute('aria-label') !== pair[1]) el.setAttribute('aria-label', pair[1]);
      });
    });
    root.querySelectorAll('button.authorize').forEach(function (el) {
      var text = el.textContent.trim();
      if (text && el.getAttribute('aria-label') !== text) el.setAttribute('aria-label', text);
    });
    root.querySelectorAll(SCROLLERS).forEach(function (el) {
      if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '0');
    });
  }
  new MutationObserver(nameControls).observe(root, { childList: true, subtree: true });

  function start(spec) {
    // The document names the token endpoint relative to the server; the page knows this
    // server's public address (its issuer), so "Authorize" posts to the right place behind
    // a proxy too.
    var schemes = (spec.components && spec.components.securitySchemes) || {};
    Object.keys(schemes).forEach(function (name) {
      var flow = schemes[name].flows && schemes[name].flows.clientCredentials;
      if (flow) flow.tokenUrl = tokenUrl;
    });
    window.ui = SwaggerUIBundle({
      spec: spec,
      dom_id: '#swagger-ui',
      // Deep links would put a link inside each operation's toggle button (nested controls).
      deepLinking: false,
      tryItOutEnabled: false,
      persistAuthorization: false,
      displayRequestDuration: true,
      // The highlighting theme colours some tokens below WCAG AA contrast; plain text reads.
      syntaxHighlight: { activated: false },
      // The console's session cookie must not stand in for the token a person chose.
      requestInterceptor: function (request) {
        request.credentials = 'omit';
        return request;
      },
    });
  }

  fetch(specUrl, { credentials: 'omit' })
    .then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    })
    .then(start, function (e) {
      root.textContent = 'The OpenAPI document could not be loaded (' + e.message + '): ' + specUrl;
    });
})();
