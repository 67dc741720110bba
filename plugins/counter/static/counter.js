// hailong — counter.js: the rating tablet at the one-stop desk (plugin "counter", /c/counter/).
//
// Owns, on the page rendered from templates/screen.mustache:
//  - the screens: start (faces), reasons (negative faces), thanks, revoked; body[data-screen];
//  - the VI/EN toggle (strings from config.messages, labels from the {vi, en} objects);
//  - the dossier field, and a USB barcode/QR scanner typing fast anywhere on the page;
//  - the officer shift dialog (POST/DELETE api/v1/shift, then GET api/v1/state);
//  - the offline queue of ratings in localStorage ("hailong.counter.queue"; body[data-queue])
//    and its sender (POST api/v1/ratings, batches of 50, exponential backoff with jitter).
// Without JavaScript the page still works: the faces submit the form to POST /c/counter/rate.
'use strict';

(() => {
  const QUEUE_KEY = 'hailong.counter.queue';
  const PENDING_KEY = 'hailong.counter.pending'; // a negative rating whose reasons are being chosen
  const BATCH = 50;
  const DEBOUNCE_MS = 800;
  const SCAN_GAP_MS = 60;   // a scanner types faster than this between keys
  const SCAN_MIN = 3;       // shortest code taken from a scan
  const IDLE_MS = 90000;    // reasons left untouched this long: the rating is queued without them
  const STATE_EVERY_MS = 5 * 60000;
  const FINAL = new Set(['stored', 'duplicate', 'held', 'rejected']);

  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const cfgEl = $('counter-config');
  if (!cfgEl) return;
  let config = parseJson(cfgEl.textContent);
  if (!config || !Array.isArray(config.faces) || !config.faces.length) return; // keep the plain form
  const base = new URL(cfgEl.dataset.base || '/c/counter/', location.href);
  const api = (path) => new URL('api/v1/' + path, base).href;
  const defaultLang = 'vi'; // the fallback for a missing string
  const pageLang = document.documentElement.lang;
  const homeLang = config.messages && config.messages[pageLang] ? pageLang : defaultLang; // as rendered
  let lang = homeLang;

  function parseJson(text) {
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // ---- strings -------------------------------------------------------------------------------

  /** A page string of the current language, with {name} placeholders filled in. */
  function msg(key, vars) {
    const all = config.messages || {};
    let text = (all[lang] && all[lang][key]) || (all[defaultLang] && all[defaultLang][key]) || key;
    for (const [k, v] of Object.entries(vars || {})) text = text.split('{' + k + '}').join(String(v));
    return text;
  }

  /** The current language's text of a {vi, en} label (or a plain string). */
  function label(value, fallbackKey) {
    if (typeof value === 'string') return value;
    if (value && (value[lang] || value[defaultLang])) return value[lang] || value[defaultLang];
    return fallbackKey ? msg(fallbackKey) : '';
  }

  /** As the server does: the first letters of the last two words ("Nguyễn Văn An" → "VA"). */
  function initials(name) {
    const words = String(name || '').trim().split(/\s+/).filter(Boolean).slice(-2);
    return words.map((w) => Array.from(w)[0]).join('').toLocaleUpperCase('vi');
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = msg('title') + (config.counter && config.counter.name ? ' — ' + config.counter.name : '');
    for (const el of document.querySelectorAll('[data-t]')) el.textContent = msg(el.dataset.t);
    for (const el of document.querySelectorAll('[data-t-placeholder]')) el.placeholder = msg(el.dataset.tPlaceholder);
    for (const el of document.querySelectorAll('[data-t-aria-label]')) el.setAttribute('aria-label', msg(el.dataset.tAriaLabel));
    for (const b of document.querySelectorAll('#langs [data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
    $('question').textContent = label(config.question && config.question.text, 'question');
    $('reasons-title').textContent = label(config.reasons && config.reasons.text, 'reasons_title');
    $('comment-label').textContent = label(config.comment && config.comment.text, 'comment');
    for (const b of document.querySelectorAll('#faces [data-face]')) {
      const face = (config.faces || []).find((f) => String(f.id) === b.dataset.face);
      if (face) b.querySelector('.face-label').textContent = label(face.label);
    }
    for (const b of document.querySelectorAll('#reason-list [data-reason]')) {
      const option = ((config.reasons && config.reasons.options) || []).find((o) => o.id === b.dataset.reason);
      if (option) b.querySelector('.reason-label').textContent = label(option.label);
    }
    updateCount();
    updateStatus();
  }

  // ---- rendering from the configuration ------------------------------------------------------

  /** An element with attributes; SVG elements when svg is true. */
  function el(tag, className, attrs, svg) {
    const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
    if (className) node.setAttribute('class', className);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  /** A face drawn from the symbols of templates/icons.mustache. */
  function svgIcon(icon) {
    const svg = el('svg', 'face-icon', { 'aria-hidden': 'true', focusable: 'false' }, true);
    svg.appendChild(el('use', '', { href: '#icon-' + icon }, true));
    return svg;
  }

  function renderConfig() {
    const faces = $('faces');
    faces.replaceChildren();
    for (const face of config.faces || []) {
      const icon = /^[a-z-]+$/.test(face.icon || '') ? face.icon : 'neutral';
      const b = el('button', 'face face-' + icon, { type: 'button', 'data-face': String(face.id) });
      if (face.negative) b.dataset.negative = 'true';
      b.append(svgIcon(icon), el('span', 'face-label'));
      faces.appendChild(b);
    }

    const list = $('reason-list');
    list.replaceChildren();
    for (const option of (config.reasons && config.reasons.options) || []) {
      const b = el('button', 'reason', { type: 'button', 'aria-pressed': 'false', 'data-reason': option.id });
      b.append(el('span', 'check', { 'aria-hidden': 'true' }), el('span', 'reason-label'));
      list.appendChild(b);
    }
    $('reasons-title').hidden = !config.reasons && !config.comment;
    list.hidden = !config.reasons;
    $('reasons-help').hidden = !config.reasons;
    $('other-field').hidden = !(config.reasons && config.reasons.other);
    $('reason-other').maxLength = (config.reasons && config.reasons.maxLength) || 200;
    $('comment-field').hidden = !config.comment;
    $('comment').maxLength = (config.comment && config.comment.maxLength) || 500;

    const officer = config.officer;
    $('officer-card').hidden = !officer;
    $('officer-initials').textContent = officer ? officer.initials || initials(officer.name) : '';
    $('officer-name').textContent = officer ? officer.name || '' : '';
    $('officer-title').textContent = officer ? label(officer.title) : '';
    if (config.agency && config.agency.name) $('agency-name').textContent = config.agency.name;
    if (config.counter && config.counter.name) $('counter-name').textContent = config.counter.name;
    applyLanguage();
  }

  // ---- screens ------------------------------------------------------------------------------

  const screens = { start: 'screen-start', reasons: 'screen-reasons', thanks: 'screen-thanks', revoked: 'screen-revoked' };
  let thanksTimer = 0, idleTimer = 0, shownAt = 0;

  function show(name, focusId) {
    for (const [key, id] of Object.entries(screens)) $(id).hidden = key !== name;
    body.dataset.screen = name;
    shownAt = Date.now();
    const target = focusId && $(focusId);
    if (target) target.focus({ preventScroll: true });
  }

  function backToStart() {
    clearTimeout(thanksTimer);
    clearTimeout(idleTimer);
    if (body.dataset.screen === 'revoked') return;
    $('screen-error').textContent = '';
    setDossier('');
    resetReasons();
    lang = homeLang; // the next citizen starts in the page's language (Vietnamese by default)
    renderConfig(); // also picks up a configuration refreshed meanwhile
    show('start', 'question');
  }

  function showThanks() {
    show('thanks', 'thanks-title');
    clearTimeout(thanksTimer);
    thanksTimer = setTimeout(backToStart, Math.max(1, Number(config.resetSeconds) || 5) * 1000);
  }

  function showRevoked(detail) {
    stopped = true;
    clearTimeout(sendTimer);
    clearTimeout(thanksTimer);
    clearTimeout(idleTimer);
    if ($('officer-dialog').open) $('officer-dialog').close();
    $('revoked-detail').textContent = detail || '';
    $('pair-again').href = base.pathname;
    show('revoked', 'revoked-title');
  }

  // ---- ratings -------------------------------------------------------------------------------

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  let lastTap = 0, current = null;

  function onFace(button) {
    const now = Date.now();
    if (now - lastTap < DEBOUNCE_MS || body.dataset.screen !== 'start') return;
    lastTap = now;
    const item = {
      uuid: uuid(), rating: button.dataset.face, reasons: [], other: '', comment: '',
      dossier: $('dossier').value.trim(), tapped_at: now,
    };
    const hasReasons = button.dataset.negative && (config.reasons || config.comment);
    if (!hasReasons) {
      enqueue(item);
      showThanks();
      return;
    }
    current = item;
    store(PENDING_KEY, item); // a reload while choosing reasons still keeps the rating
    show('reasons', 'reasons-title');
    armIdle();
  }

  function finishReasons(send) {
    if (!current) return;
    const item = current;
    current = null;
    if (send) {
      item.reasons = Array.from(document.querySelectorAll('#reason-list [aria-pressed="true"]'), (b) => b.dataset.reason);
      item.other = $('other-field').hidden ? '' : $('reason-other').value.trim();
      item.comment = $('comment-field').hidden ? '' : $('comment').value.trim();
    }
    enqueue(item);
    forget(PENDING_KEY);
    showThanks();
  }

  function resetReasons() {
    for (const b of document.querySelectorAll('#reason-list [aria-pressed]')) b.setAttribute('aria-pressed', 'false');
    $('reason-other').value = '';
    $('comment').value = '';
    updateCount();
  }

  function armIdle() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => { finishReasons(false); backToStart(); }, IDLE_MS);
  }

  function updateCount() {
    const area = $('comment');
    $('comment-count').textContent = msg('chars_left', { n: area.maxLength - area.value.length });
  }

  // ---- queue and sender ----------------------------------------------------------------------

  let memoryQueue = []; // used only when localStorage is unavailable or full
  let sending = false, stopped = false, lastFailed = false, failures = 0, sendTimer = 0;

  function store(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); return true; } catch (e) { return false; }
  }

  function read(key) {
    try { return parseJson(localStorage.getItem(key) || 'null'); } catch (e) { return null; }
  }

  function forget(key) {
    try { localStorage.removeItem(key); } catch (e) { /* nothing stored */ }
  }

  function loadQueue() {
    const q = read(QUEUE_KEY);
    if (!Array.isArray(q)) return memoryQueue.slice();
    return q.concat(memoryQueue.filter((m) => !q.some((x) => x.uuid === m.uuid)));
  }

  function saveQueue(q) {
    memoryQueue = store(QUEUE_KEY, q) ? [] : q;
    updateStatus();
  }

  function enqueue(item) {
    if (!item.lang) item.lang = lang; // the language the citizen answered in
    const q = loadQueue();
    if (!q.some((x) => x.uuid === item.uuid)) q.push(item);
    saveQueue(q); // stored before anything is sent
    schedule(0);
  }

  function schedule(delay) {
    if (stopped) return;
    clearTimeout(sendTimer);
    sendTimer = setTimeout(drain, delay);
  }

  /** Exponential backoff from 1 s up to config.retryMaxMs, with jitter (half to all of it). */
  function retryLater(failed) {
    lastFailed = failed;
    failures += 1;
    const max = Math.max(1000, Number(config.retryMaxMs) || 30000);
    const ceiling = Math.min(max, 1000 * 2 ** (failures - 1));
    schedule(ceiling / 2 + Math.random() * ceiling / 2);
  }

  async function problemDetail(res) {
    try { const p = await res.json(); return { code: p.code || '', detail: p.detail || p.title || '' }; }
    catch (e) { return { code: '', detail: '' }; }
  }

  const isDeviceProblem = (res, problem) =>
    res.status === 401 || /^device\./.test(problem.code);

  function request(method, path, payload) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', 'Accept-Language': lang } };
    if (payload !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    return fetch(api(path), init);
  }

  async function drain() {
    if (sending || stopped) return;
    const batch = loadQueue().slice(0, BATCH);
    if (!batch.length) { lastFailed = false; failures = 0; updateStatus(); return; }
    sending = true;
    try {
      const res = await request('POST', 'ratings',
        { sent_at: Date.now(), ratings: batch, queued: Math.max(0, loadQueue().length - batch.length) });
      if (res.status === 401 || res.status === 403) { showRevoked((await problemDetail(res)).detail); return; }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const answer = await res.json();
      const done = new Set((answer.results || []).filter((r) => FINAL.has(r.status)).map((r) => r.uuid));
      if (!done.size) throw new Error('no result ended a rating');
      saveQueue(loadQueue().filter((x) => !done.has(x.uuid)));
      if (done.size < batch.length) retryLater(false); // some came back "retry": not so soon
      else { lastFailed = false; failures = 0; if (loadQueue().length) schedule(0); }
    } catch (e) {
      retryLater(true);
    } finally {
      sending = false;
      updateStatus();
    }
  }

  function updateStatus() {
    const n = loadQueue().length;
    body.dataset.queue = String(n);
    const mark = $('offline');
    mark.hidden = !(n > 0 && lastFailed);
    body.classList.toggle('is-offline', !mark.hidden);
    mark.textContent = mark.hidden ? '' : msg('offline_waiting', { n });
  }

  // ---- state and officer shift ---------------------------------------------------------------

  async function refreshState() {
    try {
      const res = await request('GET', 'state');
      if (res.status === 401 || res.status === 403) { showRevoked((await problemDetail(res)).detail); return; }
      if (!res.ok) return;
      const next = await res.json();
      if (!Array.isArray(next.faces) || !next.faces.length) return;
      if (!next.messages) next.messages = config.messages;
      if (JSON.stringify(next) === JSON.stringify(config)) return;
      config = next;
      if (body.dataset.screen === 'start') renderConfig(); // otherwise on the way back to start
    } catch (e) { /* offline: keep the configuration we have */ }
  }

  function openOfficer() {
    const officer = config.officer;
    $('shift-on').hidden = !officer;
    $('shift-form').hidden = !!officer;
    $('shift-name').textContent = officer ? officer.name || officer.code || '' : '';
    $('shift-error').textContent = '';
    $('shift-form').reset();
    $('officer-dialog').showModal();
    (officer ? $('shift-end') : $('shift-officer')).focus();
  }

  async function shift(method, payload) {
    $('shift-error').textContent = '';
    try {
      const res = await request(method, 'shift', payload);
      if (res.ok) {
        const answer = method === 'POST' ? await res.json().catch(() => ({})) : {};
        config.officer = answer.officer || null;
        renderConfig();
        $('officer-dialog').close();
        await refreshState();
        return;
      }
      const problem = await problemDetail(res);
      if (isDeviceProblem(res, problem)) { showRevoked(problem.detail); return; }
      const fallback = res.status === 429 ? 'too_many_attempts' : res.status === 403 ? 'sign_in_failed' : 'network_error';
      $('shift-error').textContent = problem.detail || msg(fallback);
    } catch (e) {
      $('shift-error').textContent = msg('network_error');
    }
    $('shift-pin').value = '';
  }

  // ---- dossier and scanner -------------------------------------------------------------------

  function setDossier(code) {
    $('dossier').value = code;
    $('rate-dossier').value = code;
    showDossierInfo('', '');
    if (code) lookupDossier(code);
  }

  function showDossierInfo(text, key) {
    const info = $('dossier-info');
    if (key) info.dataset.t = key; else delete info.dataset.t;
    info.textContent = key ? msg(key) : text;
  }

  async function lookupDossier(code) {
    try {
      const res = await request('GET', 'dossier/' + encodeURIComponent(code));
      if ($('dossier').value !== code) return;
      if (res.status === 404) { showDossierInfo('', 'dossier_not_found'); return; }
      if (!res.ok) return;
      const d = await res.json(); // {code, procedure?: name or {code, name}, agency?: name}
      const p = d.procedure || d.agency;
      showDossierInfo(typeof p === 'string' ? p : p ? label(p.name) || p.code || '' : '');
    } catch (e) { /* offline: the code is kept as typed */ }
  }

  // Keys typed faster than SCAN_GAP_MS outside a text field are a scanner; its Enter ends a code.
  let scan = '', lastKey = 0;
  function onKeydown(e) {
    if (body.dataset.screen === 'thanks' && (e.key === 'Enter' || e.key === ' ' || e.key === 'Escape')) {
      e.preventDefault();
      if (Date.now() - shownAt >= DEBOUNCE_MS) backToStart();
      return;
    }
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    const now = Date.now();
    const fast = now - lastKey <= SCAN_GAP_MS;
    lastKey = now;
    if (e.key === 'Enter') {
      if (fast && scan.length >= SCAN_MIN) {
        e.preventDefault(); // do not let the scanner's Enter press a focused face
        setDossier(scan);
      }
      scan = '';
    } else if (e.key.length === 1) {
      scan = fast ? scan + e.key : e.key;
    }
  }

  // ---- wiring --------------------------------------------------------------------------------

  function init() {
    const params = new URLSearchParams(location.search);
    const fromUrl = params.get('dossier') || '';
    if (params.has('dossier')) { // the next reload must not bind another citizen to this dossier
      params.delete('dossier');
      history.replaceState(null, '', location.pathname + (params.toString() ? '?' + params : '') + location.hash);
    }
    const pending = read(PENDING_KEY);
    if (pending && pending.uuid) enqueue(pending); // left on the reasons screen by a reload
    forget(PENDING_KEY);

    renderConfig();
    setDossier(String(config.dossier || $('dossier').value || fromUrl).trim());
    $('langs').hidden = false;
    $('officer-open').hidden = false;
    body.classList.add('js');

    $('rate-form').addEventListener('submit', (e) => e.preventDefault());
    $('faces').addEventListener('click', (e) => {
      const b = e.target.closest('[data-face]');
      if (b) onFace(b);
    });
    $('langs').addEventListener('click', (e) => {
      const b = e.target.closest('[data-lang]');
      if (b && b.dataset.lang !== lang) { lang = b.dataset.lang; applyLanguage(); }
    });
    $('reason-list').addEventListener('click', (e) => {
      const b = e.target.closest('[data-reason]');
      if (b) b.setAttribute('aria-pressed', String(b.getAttribute('aria-pressed') !== 'true'));
    });
    $('screen-reasons').addEventListener('input', () => { updateCount(); armIdle(); });
    $('screen-reasons').addEventListener('pointerdown', armIdle);
    $('reasons-send').addEventListener('click', () => finishReasons(true));
    $('reasons-skip').addEventListener('click', () => finishReasons(false));
    $('screen-thanks').addEventListener('click', () => {
      if (Date.now() - shownAt >= DEBOUNCE_MS) backToStart();
    });
    $('dossier-form').addEventListener('submit', (e) => {
      e.preventDefault();
      setDossier($('dossier').value.trim());
    });
    $('dossier').addEventListener('input', () => { $('rate-dossier').value = $('dossier').value.trim(); });
    $('officer-open').addEventListener('click', openOfficer);
    $('shift-close').addEventListener('click', () => $('officer-dialog').close());
    $('shift-end').addEventListener('click', () => shift('DELETE'));
    $('shift-form').addEventListener('submit', (e) => {
      e.preventDefault();
      shift('POST', { officer: $('shift-officer').value.trim(), pin: $('shift-pin').value });
    });
    document.addEventListener('keydown', onKeydown);
    window.addEventListener('online', () => { failures = 0; schedule(0); });
    setInterval(() => { if (body.dataset.screen === 'start') refreshState(); }, STATE_EVERY_MS);

    show('start');
    updateStatus();
    schedule(0);
  }

  init();
})();
