/* Fidelis tracking snippet (docs/TRACKING.md). fidelis('page'), fidelis('product', {sku}),
   fidelis('search', {query}), fidelis('cart_add'|'cart_remove', {sku, quantity}),
   fidelis('checkout', {step}), fidelis('track', name, properties), fidelis('consent', true|false),
   fidelis('ready', function (visitorId) {}). */
(function (w, d, n) {
  var need = /*REQUIRE_CONSENT*/false, dnt = /*HONOR_DNT*/true, s = d.currentScript,
    base = s ? s.src.replace(/\/t\.js([?#].*)?$/, '') : '', old = w.fidelis, q = [], timer = 0,
    VID = '_fid_vid', OK = '_fid_consent', LAST = '_fid_last';
  function cookie(k, v, days) {
    if (v === undefined) { var m = d.cookie.match('(?:^|; )' + k + '=([^;]*)'); return m ? m[1] : ''; }
    d.cookie = k + '=' + v + '; path=/; max-age=' + Math.round(days * 864e2) + '; SameSite=Lax';
  }
  function blocked() {
    return (dnt && (n.doNotTrack == '1' || w.doNotTrack == '1' || n.globalPrivacyControl)) || (need && cookie(OK) != '1');
  }
  function vid() {
    var v = cookie(VID);
    if (!v) {
      var a = new Uint8Array(16), c = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      (w.crypto || w.msCrypto).getRandomValues(a);
      for (var i = 0; i < 16; i++) v += c.charAt(a[i] & 63);
    }
    cookie(VID, v, 395);
    return v;
  }
  function flush() {
    timer = 0;
    if (!q.length || blocked()) return;
    var body = JSON.stringify({ visitor_id: vid(), consent: cookie(OK) == '1', events: q.splice(0, 50) });
    if (!(n.sendBeacon && n.sendBeacon(base + '/t/collect', body)))
      fetch(base + '/t/collect', { method: 'POST', body: body, keepalive: true, mode: 'no-cors' });
    if (q.length) flush();
  }
  function push(e) {
    if (blocked()) return;
    var now = Date.now(), last = +cookie(LAST) || 0;
    e.url = e.url || location.href;
    if (now - last > 18e5) q.push({ type: 'session_start', url: e.url, referrer: d.referrer });
    cookie(LAST, now, 1);
    q.push(e);
    timer = timer || setTimeout(flush, 0);
  }
  var api = function (cmd, a, b) {
    a = a || {};
    if (cmd == 'consent') {
      if (a === true) { cookie(OK, '1', 395); flush(); } else { cookie(OK, '', 0); cookie(VID, '', 0); q = []; }
    } else if (cmd == 'ready') a(blocked() ? null : vid());
    else if (cmd == 'page') push({ type: 'page_view', url: a.url, title: a.title || d.title, referrer: d.referrer });
    else if (cmd == 'product') push({ type: 'product_view', sku: String(a.sku) });
    else if (cmd == 'search') push({ type: 'search', query: String(a.query) });
    else if (cmd == 'cart_add' || cmd == 'cart_remove') push({ type: cmd, sku: String(a.sku), quantity: a.quantity || 1 });
    else if (cmd == 'checkout') push({ type: 'checkout_step', step: String(a.step) });
    else if (cmd == 'track') push({ type: 'track', name: String(a), properties: b });
  };
  var pending = (old && old.q) || [];
  w.fidelis = api;
  if (!s || s.getAttribute('data-auto-page') != 'false') api('page');
  for (var i = 0; i < pending.length; i++) api.apply(null, pending[i]);
})(window, document, navigator);
