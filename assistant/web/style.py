"""The page's stylesheet and the script that makes ``[n]`` markers open and highlight their cited passage."""

CSS = """
.nd-mode { font-size: 0.9em; padding: 4px 10px; border-radius: 6px; background: var(--background-fill-secondary); }
.nd-notice { border-left: 4px solid #d97706; background: #fef3c7; color: #78350f; padding: 6px 10px;
             margin-bottom: 8px; border-radius: 4px; }
a.nd-cite { text-decoration: none; font-weight: 600; padding: 0 1px; cursor: pointer; }
.nd-sources { max-height: 640px; overflow-y: auto; }
.nd-turn > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.nd-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0;
             transition: box-shadow 0.3s, border-color 0.3s; }
.nd-source.nd-flash { border-color: #2563eb; box-shadow: 0 0 0 3px rgba(37, 99, 235, 0.35); }
.nd-source-head { font-weight: 600; }
.nd-meta, .nd-url, .nd-loc { color: var(--body-text-color-subdued); font-size: 0.85em; }
.nd-passage { margin-top: 6px; white-space: pre-wrap; line-height: 1.45; font-size: 0.92em; }
mark.nd-quote { background: #fde047; color: inherit; padding: 0 1px; border-radius: 2px; }
.nd-library th { text-align: left; padding-right: 16px; }
.nd-results { margin-top: 8px; width: 100%; font-size: 0.9em; }
.nd-results td, .nd-results th { padding: 2px 6px; text-align: left; vertical-align: top; }
.nd-failed .nd-status { color: #b91c1c; font-weight: 600; }
.nd-added .nd-status, .nd-updated .nd-status { color: #15803d; font-weight: 600; }
.nd-error { color: #b91c1c; }
"""

HEAD = """<script>
/* [n] in an answer: open that answer's sources and bring the cited passage into view. */
document.addEventListener('click', function (event) {
  var link = event.target && event.target.closest ? event.target.closest('a.nd-cite') : null;
  if (!link) { return; }
  event.preventDefault();
  event.stopPropagation();
  var target = document.getElementById((link.getAttribute('href') || '').slice(1));
  if (!target) { return; }
  var group = target.closest('details');
  if (group) { group.open = true; }
  target.scrollIntoView({behavior: 'smooth', block: 'center'});
  target.classList.remove('nd-flash');
  void target.offsetWidth;
  target.classList.add('nd-flash');
}, true);
</script>"""
