// Tollgate console: progressive enhancement only. Every page works without this file; with it,
// dates read in the viewer's time zone, values copy with one click, a page that shows a secret
// asks before it is left, and a confirmation field enables its button when it matches.
'use strict';

(function () {
  // Dates: the server writes UTC (RFC 3339) in <time datetime>; show the viewer's local time
  // and keep the UTC time on hover.
  var formatter;
  try {
    formatter = new Intl.DateTimeFormat(undefined, {
      year: 'numeric', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
    });
  } catch (e) {
    formatter = null;
  }
  function localTimes(root) {
    if (!formatter) return;
    root.querySelectorAll('time[datetime]').forEach(function (el) {
      var iso = el.getAttribute('datetime');
      var d = new Date(iso);
      if (isNaN(d.getTime())) return;
      el.textContent = formatter.format(d);
      el.title = d.toISOString().replace('.000Z', 'Z') + ' (UTC)';
      el.classList.add('local');
    });
  }

  // Copy buttons: <button data-copy="ID" hidden> copies the text of #ID. They stay hidden
  // where script (or the clipboard) is not available: the value is on the page as text.
  function copyButtons(root) {
    if (!navigator.clipboard) return;
    var status = document.getElementById('copy-status');
    root.querySelectorAll('button[data-copy]').forEach(function (button) {
      var source = document.getElementById(button.getAttribute('data-copy'));
      if (!source) return;
      button.hidden = false;
      button.addEventListener('click', function () {
        var text = (source.value !== undefined ? source.value : source.textContent).trim();
        navigator.clipboard.writeText(text).then(function () {
          var label = button.getAttribute('data-copied') || 'Copied';
          if (status) status.textContent = label;
          button.classList.add('copied');
          setTimeout(function () { button.classList.remove('copied'); }, 2000);
        }, function () {
          if (status) status.textContent = 'Copy failed: select the text and copy it.';
        });
      });
    });
  }

  // A page marked data-confirm-leave (one that shows a secret once) asks before the browser
  // leaves it, unless the person ticked the box that says the secret is stored, or followed a
  // link marked data-leave-ok.
  function confirmLeave() {
    var marked = document.querySelector('[data-confirm-leave]');
    if (!marked) return;
    var stored = document.getElementById('stored');
    var leaving = false;
    document.querySelectorAll('[data-leave-ok]').forEach(function (el) {
      el.addEventListener('click', function () { leaving = true; });
    });
    window.addEventListener('beforeunload', function (event) {
      if (leaving || (stored && stored.checked)) return;
      event.preventDefault();
      event.returnValue = '';
    });
  }

  // <input data-must-match="VALUE" data-enables="ID">: the button #ID is enabled only when
  // the input holds VALUE (the server checks it again).
  function mustMatch(root) {
    root.querySelectorAll('input[data-must-match]').forEach(function (input) {
      var button = document.getElementById(input.getAttribute('data-enables'));
      if (!button) return;
      var want = input.getAttribute('data-must-match');
      var update = function () { button.disabled = input.value !== want; };
      input.addEventListener('input', update);
      update();
    });
  }

  // <form data-confirm="question">: asks before it is sent.
  function confirmForms(root) {
    root.querySelectorAll('form[data-confirm]').forEach(function (form) {
      form.addEventListener('submit', function (event) {
        if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
      });
    });
  }

  function start() {
    localTimes(document);
    copyButtons(document);
    confirmLeave();
    mustMatch(document);
    confirmForms(document);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
