"""The page's stylesheet and its small scripts: ``[n]`` markers open and highlight their cited passage, the
From/To calendar opens on the collection's newest month (Gradio's DateTime opens on today's: useless for an archive),
and "Copy answer with sources" puts the answer's Markdown (``export``) on the clipboard.
"""

CSS = """
.nd-mode { font-size: 0.9em; padding: 4px 10px; border-radius: 6px; background: var(--background-fill-secondary); }
.nd-notice { border-left: 4px solid #d97706; background: #fef3c7; color: #78350f; padding: 6px 10px;
             margin-bottom: 8px; border-radius: 4px; }
/* Contrast (WCAG AA, 4.5:1): Gradio's subdued grey #bbbbc2 is 1.9:1 on white (dates, hints, "none selected = all");
   zinc-600 is 7.7:1 on white, zinc-400 7.6:1 on the dark theme's background. The Ask button's orange-500 took white
   text at 2.8:1 (so did the selected tab's label on white); orange-700 gives 5.2:1. */
:root, .gradio-container { --body-text-color-subdued: #52525b !important; --block-info-text-color: #52525b !important;
                           --input-placeholder-color: #71717a !important; }
.dark, .dark .gradio-container { --body-text-color-subdued: #a1a1aa !important;
                                 --block-info-text-color: #a1a1aa !important;
                                 --input-placeholder-color: #a1a1aa !important; }
#nd-tabs { --color-accent: #c2410c; }
/* Stop and Delete: Gradio's red (#ef4444) under white text is 3.76:1; this one is 6.5:1 */
#nd-stop, #nd-conv-delete { --button-cancel-background-fill: #b91c1c; --button-cancel-background-fill-hover: #991b1b;
                            --button-cancel-border-color: #b91c1c; --button-cancel-border-color-hover: #991b1b;
                            --button-cancel-text-color: #fff; --button-cancel-text-color-hover: #fff; }
#nd-ask { --button-primary-background-fill: #c2410c; --button-primary-background-fill-hover: #9a3412;
          --button-primary-border-color: #c2410c; --button-primary-border-color-hover: #9a3412;
          --button-primary-text-color: #fff; --button-primary-text-color-hover: #fff; }
/* Header: one line on a laptop, at most two on a phone; the page's one h1. */
#nd-title h1 { font-size: 1.4rem; line-height: 1.25; margin: 0; }
#nd-header { align-items: center; gap: 8px 16px; }
/* The chat box's height follows the screen (page.py: a CSS clamp) so the question box stays in view; its floating
   clear button gets room above the first message instead of covering it. */
#nd-chat .bubble-wrap, #nd-chat [role="log"] { padding-top: 36px; }
/* [n] chips: link to the cited passage; the preview (render.cite_html: title, then source and date) shows on hover
   and on keyboard focus. */
a.nd-cite { position: relative; display: inline-block; margin: 0 1px; padding: 0 6px; border-radius: 999px;
            border: 1px solid #93c5fd; background: #dbeafe; color: #1e3a8a !important; font-size: 0.85em;
            font-weight: 600; line-height: 1.45; text-decoration: none !important; cursor: pointer; }
a.nd-cite:hover, a.nd-cite:focus-visible { background: #bfdbfe; border-color: #1d4ed8; }
a.nd-cite:focus-visible { outline: 2px solid #1d4ed8; outline-offset: 1px; }
a.nd-cite .nd-tip { display: none; position: absolute; left: 0; top: calc(100% + 4px); z-index: 60; width: max-content;
                    max-width: min(360px, 70vw); padding: 6px 8px; border-radius: 6px; background: #1f2937;
                    color: #f9fafb; font-size: 0.8rem; font-weight: 400; line-height: 1.35; text-align: left;
                    white-space: normal; box-shadow: 0 4px 14px rgba(0, 0, 0, .25); pointer-events: none; }
a.nd-cite:hover .nd-tip, a.nd-cite:focus-visible .nd-tip { display: block; }
.nd-tip-title { display: block; font-weight: 600; color: #f9fafb !important; }
.nd-tip-meta { display: block; color: #d1d5db !important; }
.dark a.nd-cite { background: #1e3a8a; border-color: #60a5fa; color: #eff6ff !important; }
#nd-chat .message, #nd-chat .message-content, #nd-chat .bot { overflow: visible; }
.nd-sources { max-height: max(320px, calc(100dvh - 190px)); overflow-y: auto; }
.nd-source:focus { outline: 2px solid #2563eb; outline-offset: 1px; }
.nd-passage .nd-gap { display: block; height: 0.4em; }
#nd-side { min-width: 0; }
.nd-turn > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.nd-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0;
             transition: box-shadow 0.3s, border-color 0.3s; }
.nd-source.nd-flash { border-color: #2563eb; box-shadow: 0 0 0 3px rgba(37, 99, 235, 0.35); }
.nd-source-head { font-weight: 600; }
.nd-meta, .nd-url, .nd-loc { color: var(--body-text-color-subdued); font-size: 0.85em; }
.nd-passage { margin-top: 6px; white-space: pre-wrap; line-height: 1.45; font-size: 0.92em; }
.nd-also { margin-top: 6px; font-size: 0.85em; color: var(--body-text-color-subdued); }
.nd-also ul { margin: 2px 0 0 18px; padding: 0; }
button.nd-copy { margin: 4px 0 2px; padding: 2px 10px; font-size: 0.85em; border-radius: 6px; cursor: pointer;
                 border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
                 color: var(--body-text-color); }
button.nd-copy:hover, button.nd-copy:focus-visible { border-color: #2563eb; }
#nd-feedback-row { align-items: center; }
.nd-feedback-note { font-size: 0.9em; color: var(--body-text-color-subdued); min-height: 0; }
mark.nd-quote { background: #fde047; color: inherit; padding: 0 1px; border-radius: 2px; }
.nd-library th { text-align: left; padding-right: 16px; font-weight: 600; }
#nd-filters { gap: 8px 12px; }
/* Sources on a line of its own: three in a row left From/To too narrow for their examples ("2024-12-01 or las") */
#nd-filters > #nd-source-filter, #nd-filters > :has(> #nd-source-filter) { flex: 1 1 100% !important; }
/* A phone: columns stack, nothing sticks out sideways, the title fits two lines (beside the mode line it took four). */
@media (max-width: 640px) {
  #nd-title h1 { font-size: 1.15rem; }
  #nd-header { flex-wrap: wrap; }
  #nd-header > * { flex: 1 1 100% !important; min-width: 0 !important; }
  .form:has(> #nd-question) { flex: 1 1 100% !important; }  /* its own line: the example fits, Ask goes below */
  #nd-chat { height: clamp(240px, calc(100dvh - 400px), 640px) !important; }  /* title, box and Ask in view too */
  .nd-date { min-width: 0 !important; }
}
@media (max-width: 480px) {  /* side by side, From and To cut their examples short ("2024-12-01 o") */
  .nd-date { flex: 1 1 100% !important; }
}
.nd-results { margin-top: 8px; width: 100%; font-size: 0.9em; }
.nd-results td, .nd-results th { padding: 2px 6px; text-align: left; vertical-align: top; }
.nd-failed .nd-status { color: #b91c1c; font-weight: 600; }
.nd-added .nd-status, .nd-updated .nd-status { color: #15803d; font-weight: 600; }
.nd-error { color: #b91c1c; }
.nd-date { position: relative; gap: 0; }
.nd-date input { padding-right: 44px !important; }
.nd-date .nd-pick-box { position: absolute; right: 16px; bottom: 7px; width: auto; min-width: 0; z-index: 5; }
.nd-pick-box .html-container { padding: 0 !important; }
button.nd-pick { display: inline-flex; align-items: center; justify-content: center; width: 34px; height: 34px;
                 padding: 0 !important; margin: 0; border: none; border-radius: 4px; background: transparent;
                 color: var(--body-text-color-subdued); cursor: pointer; }
button.nd-pick:hover, button.nd-pick[aria-expanded="true"] { background: var(--background-fill-secondary);
                                                             color: var(--body-text-color); }
button.nd-pick svg { width: 18px; height: 18px; margin: 0; }
#nd-dates-row { gap: 4px 16px; }
#nd-dates-row > div { flex: 0 1 auto !important; width: auto !important; }
/* A refusal names the field in one line: the longest (535 px) fits the 560 px side column without the html padding */
#nd-dates-row > #nd-dates { flex-basis: 100% !important; }
#nd-dates-row .html-container { padding: 0 4px !important; }
.nd-dates, .nd-newest { font-size: 0.9em; color: var(--body-text-color-subdued); }
.nd-dates.nd-error { color: #b91c1c; font-weight: 600; }
#nd-in-use:not(:has(.nd-in-use)) { display: none; }  /* no filters: no line, and no gap for it */
.nd-in-use { font-size: 0.9em; color: var(--body-text-color-subdued); padding: 0 4px; }
.nd-in-use.nd-error { color: #b91c1c; font-weight: 600; }
.nd-cal { position: absolute; z-index: 1000; width: 252px; box-sizing: border-box; padding: 8px;
          background: var(--background-fill-primary, #fff); color: var(--body-text-color, #111);
          border: 1px solid var(--border-color-primary, #ccc); border-radius: 8px;
          box-shadow: 0 6px 24px rgba(0, 0, 0, .2); }
.nd-cal-head { display: flex; align-items: center; justify-content: space-between; margin-bottom: 6px; }
.nd-cal-title { font-weight: 600; }
.nd-cal-grid { display: grid; grid-template-columns: repeat(7, 1fr); gap: 2px; text-align: center; }
.nd-cal-grid span { font-size: 0.8em; color: var(--body-text-color-subdued, #666); }
.nd-cal button { height: 30px; min-width: 30px; border: none; border-radius: 4px; cursor: pointer; background: none;
                 color: inherit; }
.nd-cal button:hover, .nd-cal button:focus-visible { background: var(--background-fill-secondary, #eee); }
.nd-cal button.nd-cal-newest { font-weight: 700; box-shadow: inset 0 -3px 0 #2563eb; }
.nd-cal button.nd-cal-chosen { background: #2563eb; color: #fff; }
/* Suggested follow-ups: small buttons in a wrapping row under the chat */
#nd-followups { flex-wrap: wrap; gap: 6px; align-items: center; }
#nd-followups > * { flex: 0 1 auto !important; min-width: 0 !important; }
.nd-followups-label { font-size: 0.9em; color: var(--body-text-color-subdued); }
.nd-followup { white-space: normal !important; text-align: left; }
"""

HEAD = r"""<script>
/* "Copy answer with sources": the text is the button's data-copy attribute (Markdown made by the server, escaped in
   the attribute). The Clipboard API needs a secure context (https or localhost); elsewhere a selected textarea and
   execCommand('copy') do it. */
document.addEventListener('click', function (event) {
  var button = event.target && event.target.closest ? event.target.closest('button.nd-copy') : null;
  if (!button) { return; }
  var text = button.getAttribute('data-copy') || '';
  function done(ok) {
    var label = button.getAttribute('data-label') || button.textContent;
    button.setAttribute('data-label', label);
    button.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(function () { button.textContent = label; }, 2000);
  }
  function fallback() {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.left = '-9999px';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove();
    button.focus();
    done(ok);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
  } else {
    fallback();
  }
});

/* [n] in an answer: open that answer's sources (the Sources tab first, when Filters or Library is showing) and bring
   the cited passage into view. From the keyboard (Enter: a click with detail 0) focus moves to the passage too, so a
   screen reader reads it. */
document.addEventListener('click', function (event) {
  var link = event.target && event.target.closest ? event.target.closest('a.nd-cite') : null;
  if (!link) { return; }
  event.preventDefault();
  event.stopPropagation();
  var target = document.getElementById((link.getAttribute('href') || '').slice(1));
  if (!target) { return; }
  var keyboard = event.detail === 0;
  var group = target.closest('details');
  if (group) { group.open = true; }
  function reveal() {
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    target.classList.remove('nd-flash');
    void target.offsetWidth;
    target.classList.add('nd-flash');
    if (keyboard) { target.setAttribute('tabindex', '-1'); target.focus({preventScroll: true}); }
  }
  var tab = document.getElementById('nd-tab-sources-button');
  if (!tab || target.getClientRects().length || tab.getAttribute('aria-selected') === 'true') {
    reveal();
    return;
  }
  tab.click();
  var tries = 0;
  (function wait() {
    if (target.getClientRects().length || ++tries > 60) { reveal(); } else { requestAnimationFrame(wait); }
  })();
}, true);

/* Names the page cannot send as attributes: the Chatbot's sanitizer drops aria-* from answers, so a [n] chip's name
   ("Source 1: <title>, <date>", render.cite_html) comes as its title and becomes its aria-label here (the title goes:
   the chip's own preview replaces the browser's tooltip). Gradio's upload button is named "Click to upload or drop
   files" while it shows "Drop File Here - or - Click to Upload": a speech user saying what they see would miss it,
   so its name starts with its text. Values are set as text (setAttribute), never parsed. */
(function () {
  function fix() {
    document.querySelectorAll('a.nd-cite[title]').forEach(function (a) {
      a.setAttribute('aria-label', a.getAttribute('title'));
      a.removeAttribute('title');
    });
    document.querySelectorAll('#nd-upload button.upload-container[aria-label]').forEach(function (b) {
      var text = b.textContent.replace(/\s+/g, ' ').trim();
      if (text && b.getAttribute('aria-label').indexOf(text) !== 0) {
        b.setAttribute('aria-label', text + ': article files to add to the library');
      }
    });
  }
  var queued = false;
  new MutationObserver(function () {
    if (queued) { return; }
    queued = true;
    requestAnimationFrame(function () { queued = false; fix(); });
  }).observe(document.documentElement, {childList: true, subtree: true});
})();

/* "2 min ago" in the library (render.ago_html): recounted every 30 s, with render.ago's steps, so an open page
   keeps telling the truth about the last sync. */
(function () {
  var MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function ago(then) {
    var s = (Date.now() - then.getTime()) / 1000;
    if (s < 45) { return 'just now'; }
    if (s < 3600) { return Math.max(1, Math.floor(s / 60)) + ' min ago'; }
    if (s < 86400) { return Math.floor(s / 3600) + ' h ago'; }
    if (s < 172800) { return 'yesterday'; }
    if (s < 604800) { return Math.floor(s / 86400) + ' days ago'; }
    return then.getUTCDate() + ' ' + MON[then.getUTCMonth()] + ' ' + then.getUTCFullYear();
  }
  setInterval(function () {
    document.querySelectorAll('time.nd-ago[datetime]').forEach(function (t) {
      var then = new Date(t.getAttribute('datetime'));
      if (!isNaN(then.getTime())) { t.textContent = ago(then); }
    });
  }, 30000);
})();

/* From/To calendar: a month of day buttons that opens on the field's own ISO date, else on the newest article's
   month (#nd-newest's data-newest, from the server), and writes the picked day into the field as if typed. Built
   from numbers with textContent: nothing from an article is involved. */
(function () {
  var MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
                'November', 'December'];
  var open = null;  /* {box, opener, field, year, month, chosen, newest} */
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function iso(y, m, d) { return y + '-' + pad(m + 1) + '-' + pad(d); }
  function ymd(text) {
    var m = /^\s*(\d{4})-(\d{2})-(\d{2})/.exec(text || '');
    return m && +m[2] >= 1 && +m[2] <= 12 ? [+m[1], +m[2] - 1, +m[3]] : null;
  }
  function node(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function button(cls, text, label) {
    var b = node('button', cls, text);
    b.type = 'button';
    if (label) { b.setAttribute('aria-label', label); }
    return b;
  }
  function close(refocus) {
    if (!open) { return; }
    var was = open;
    open = null;
    was.box.remove();
    was.opener.setAttribute('aria-expanded', 'false');
    if (refocus) { was.opener.focus(); }
  }
  function show(focusDay) {
    var y = open.year, m = open.month, box = open.box, days = new Date(y, m + 1, 0).getDate();
    box.textContent = '';
    var head = node('div', 'nd-cal-head');
    var title = node('span', 'nd-cal-title', MONTHS[m] + ' ' + y);
    title.setAttribute('aria-live', 'polite');
    head.append(button('nd-cal-prev', '\u2039', 'Previous month'), title,
                button('nd-cal-next', '\u203a', 'Next month'));
    var grid = node('div', 'nd-cal-grid');
    ['Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa', 'Su'].forEach(function (d) { grid.append(node('span', '', d)); });
    for (var i = (new Date(y, m, 1).getDay() + 6) % 7; i > 0; i--) { grid.append(node('span')); }
    for (var d = 1; d <= days; d++) {
      var day = iso(y, m, d), label = d + ' ' + MONTHS[m] + ' ' + y, b = button('nd-cal-day', String(d));
      if (day === open.newest) { b.classList.add('nd-cal-newest'); label += ', newest article'; }
      if (day === open.chosen) { b.classList.add('nd-cal-chosen'); b.setAttribute('aria-pressed', 'true'); }
      b.setAttribute('aria-label', label);
      b.setAttribute('data-day', day);
      grid.append(b);
    }
    box.append(head, grid);
    var target = box.querySelector('[data-day="' + iso(y, m, Math.min(focusDay, days)) + '"]');
    if (target) { target.focus(); }
  }
  function start(opener) {
    var field = document.querySelector('#' + opener.getAttribute('data-for') + ' input');
    var mark = document.querySelector('#nd-newest [data-newest]');
    if (!field) { return; }
    var newest = mark ? mark.getAttribute('data-newest') : null;
    var now = new Date(), typed = ymd(field.value);
    var first = typed || ymd(newest) || [now.getFullYear(), now.getMonth(), now.getDate()];
    var box = node('div', 'nd-cal');
    box.setAttribute('role', 'dialog');
    box.setAttribute('aria-label', opener.getAttribute('aria-label'));
    open = {box: box, opener: opener, field: field, year: first[0], month: first[1], newest: newest,
            chosen: typed ? iso(typed[0], typed[1], typed[2]) : null};
    document.body.append(box);
    var r = field.getBoundingClientRect(), width = box.offsetWidth, room = document.documentElement.clientWidth;
    box.style.top = (r.bottom + window.scrollY + 4) + 'px';
    box.style.left = (Math.max(4, Math.min(r.left, room - width - 4)) + window.scrollX) + 'px';
    opener.setAttribute('aria-expanded', 'true');
    show(first[2]);
  }
  function turn(months, focusDay) {
    var at = new Date(open.year, open.month + months, 1);
    open.year = at.getFullYear();
    open.month = at.getMonth();
    show(focusDay);
  }
  document.addEventListener('click', function (event) {
    var t = event.target && event.target.closest ? event.target : null;
    var opener = t && t.closest('button.nd-pick');
    if (opener) {
      var again = open && open.opener === opener;
      close(false);
      if (!again) { start(opener); }
      return;
    }
    if (!open) { return; }
    if (!t || !open.box.contains(t)) { close(false); return; }
    if (t.closest('.nd-cal-prev')) { turn(-1, 1); } else if (t.closest('.nd-cal-next')) { turn(1, 1); }
    var picked = t.closest('[data-day]');
    if (picked) {
      var field = open.field;
      field.value = picked.getAttribute('data-day');
      field.dispatchEvent(new Event('input', {bubbles: true}));  /* Gradio's Textbox takes it like typing */
      close(false);
      field.focus();
    }
  });
  document.addEventListener('keydown', function (event) {
    if (!open) { return; }
    if (event.key === 'Escape') { event.preventDefault(); close(true); return; }
    var at = event.target && event.target.getAttribute && ymd(event.target.getAttribute('data-day'));
    var step = {ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7}[event.key];
    if (!at || !step || !open.box.contains(event.target)) { return; }
    event.preventDefault();
    var next = new Date(at[0], at[1], at[2] + step);
    turn((next.getFullYear() - open.year) * 12 + next.getMonth() - open.month, next.getDate());
  });
})();
</script>"""
