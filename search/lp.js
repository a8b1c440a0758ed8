/*! keyrev landing-page script. Tag: <script src="https://TRACKER/lp.js" data-campaign="ID" async></script> */
// Plain ES2019 for every browser an ad click lands with; no dependencies. Whatever happens it
// never throws into the page and never blocks it: the tag is async, and each step is guarded.
(function () {
  'use strict';
  var w = window;
  var d = document;
  var early = w.keyrev;
  // Loaded twice (two tags, a tag manager): the first copy stays in charge.
  if (early && early.version) return;
  var script = d.currentScript;
  var placeholders = /\{clickid\}|%7Bclickid%7D/gi;
  var platformIds = ['gclid', 'msclkid', 'wbraid', 'gbraid'];
  var settle;
  var started = false;
  var api = {
    version: '__VERSION__',
    clickId: undefined,
    ready: new Promise(function (resolve) {
      settle = resolve;
    }),
    consent: consent,
  };
  w.keyrev = api;

  var campaign = script && script.getAttribute('data-campaign');
  var storageKey = 'keyrev:' + campaign;
  // Consent withheld by the tag (data-consent="false") or by the page before the script ran
  // (window.keyrev = { consent: false }): nothing is read, stored or sent until keyrev.consent(true).
  var allowed = !(script && script.getAttribute('data-consent') === 'false') && !(early && early.consent === false);
  // Without consent `ready` says at once that there is no click id (a form need not wait for one).
  if (allowed) run();
  else settle(undefined);

  function consent(given) {
    allowed = given !== false;
    if (allowed) {
      if (!started) run();
      return;
    }
    guard(function () {
      w.localStorage.removeItem(storageKey);
    });
    d.cookie = storageKey.replace(':', '_') + '=; max-age=0; path=/; SameSite=Lax';
  }

  function run() {
    started = true;
    try {
      start();
    } catch {
      finish(undefined);
    }
  }

  function start() {
    if (!campaign || !script.src) return finish(undefined);
    var page = new URL(w.location.href);
    var platformId;
    for (var i = 0; i < platformIds.length && !platformId; i++) platformId = page.searchParams.get(platformIds[i]) || undefined;
    var kept = load();
    // The same ad click seen again (a reload, a second page): its click, without asking keyrev.
    if (kept && (!platformId || kept.p === platformId)) return finish(kept.c);
    fetch(new URL('/lp/' + encodeURIComponent(campaign), script.src).href, {
      method: 'POST',
      // text/plain keeps it a simple CORS request: one round trip, no preflight.
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ url: page.href, referrer: d.referrer }),
      keepalive: true,
      credentials: 'omit',
    })
      .then(function (res) {
        return res.ok ? res.json() : undefined;
      })
      .then(function (visit) {
        if (!visit || !visit.clickId) return finish(kept && kept.c);
        if (allowed) save({ c: visit.clickId, p: platformId, e: Date.now() + visit.attributionDays * 86400000 });
        finish(visit.clickId);
      })
      .catch(function () {
        finish(kept && kept.c);
      });
  }

  function finish(clickId) {
    guard(function () {
      if (clickId && allowed) {
        api.clickId = clickId;
        fill(d.documentElement, clickId);
        // Links the page adds or changes later (a form step, a widget) get the click id too.
        new MutationObserver(function (changes) {
          guard(function () {
            for (var i = 0; i < changes.length; i++) fill(changes[i].target, clickId);
          });
        }).observe(d.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ['href', 'action', 'value'] });
      }
    });
    settle(api.clickId);
  }

  /** Replaces {clickid} in the links, form actions and hidden inputs at and under a node. */
  function fill(root, clickId) {
    if (!root || root.nodeType !== 1) return;
    var nodes = [root].concat(Array.prototype.slice.call(root.querySelectorAll('a[href],area[href],form[action],input[type=hidden][value]')));
    for (var i = 0; i < nodes.length; i++) {
      var attr = nodes[i].tagName === 'FORM' ? 'action' : nodes[i].tagName === 'INPUT' ? 'value' : 'href';
      var value = nodes[i].getAttribute(attr);
      if (value && placeholders.test(value)) nodes[i].setAttribute(attr, value.replace(placeholders, encodeURIComponent(clickId)));
      placeholders.lastIndex = 0;
    }
  }

  /** The click kept for this campaign on this site ({c: click id, p: platform id, e: expiry}), if still valid. */
  function load() {
    var text;
    guard(function () {
      text = w.localStorage.getItem(storageKey);
    });
    if (!text) {
      var m = new RegExp('(?:^|; )' + storageKey.replace(':', '_') + '=([^;]*)').exec(d.cookie);
      text = m ? decodeURIComponent(m[1]) : undefined;
    }
    var kept;
    guard(function () {
      kept = text ? JSON.parse(text) : undefined;
    });
    return kept && kept.c && kept.e > Date.now() ? kept : undefined;
  }

  /** First-party storage on the landing domain: localStorage, else a cookie (storage blocked). */
  function save(kept) {
    var text = JSON.stringify(kept);
    try {
      w.localStorage.setItem(storageKey, text);
    } catch {
      d.cookie = storageKey.replace(':', '_') + '=' + encodeURIComponent(text) + '; max-age=' + Math.round((kept.e - Date.now()) / 1000) + '; path=/; SameSite=Lax';
    }
  }

  function guard(fn) {
    try {
      fn();
    } catch {
      // a page's storage, DOM or CSP may refuse anything; the page must not notice
    }
  }
})();
