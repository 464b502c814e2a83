// warden console: the little the pages need beyond htmx, with no inline script (the CSP forbids it).
// Counts down every [data-expires-at] (approvals) once a second, also in fragments htmx swaps in.
'use strict';
(function () {
  function remaining(ms) {
    if (ms <= 0) return 'expired';
    var s = Math.floor(ms / 1000);
    var m = Math.floor(s / 60);
    var h = Math.floor(m / 60);
    if (h > 0) return h + 'h ' + (m % 60) + 'm left';
    if (m > 0) return m + 'm ' + (s % 60) + 's left';
    return s + 's left';
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('[data-expires-at]').forEach(function (el) {
      var at = Date.parse(el.getAttribute('data-expires-at'));
      if (isNaN(at)) return;
      el.textContent = remaining(at - now);
      el.classList.toggle('expiring', at - now < 60000);
    });
  }
  document.addEventListener('DOMContentLoaded', tick);
  document.addEventListener('htmx:afterSwap', tick);
  setInterval(tick, 1000);

  // Leaving a page closes its event stream. A page the browser keeps in its back/forward cache
  // would otherwise hold its connection open, and after a few pages every one of the six a browser
  // opens to one host is taken: form posts and fragment loads then wait. A page brought back from
  // that cache is reloaded, since what it showed is stale and its stream is gone.
  window.addEventListener('pagehide', function () {
    document.querySelectorAll('[sse-connect]').forEach(function (el) {
      htmx.trigger(el, 'htmx:beforeCleanupElement');
    });
  });
  window.addEventListener('pageshow', function (e) {
    if (e.persisted) location.reload();
  });
})();
