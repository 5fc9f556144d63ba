// Tiny DOM helpers. Text always goes in through textContent / text nodes.

/**
 * h('li', {class: 'msg', dataset: {id: 3}, title: 'x'}, child, 'text', ...)
 * Strings become text nodes; null/false children are skipped. Attributes
 * are set with setAttribute / properties, never as HTML.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) if (dv !== undefined && dv !== null) el.dataset[dk] = String(dv);
      } else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  for (const c of children) append(el, c);
  return el;
}

function append(el, c) {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) {
    for (const x of c) append(el, x);
    return;
  }
  el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
}

/**
 * Make ul's children exactly the elements for items, in order, reusing the
 * existing element for each key (so focus and hover survive updates).
 */
export function syncList(ul, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of ul.children) existing.set(child.dataset.key, child);
  const keep = new Set();
  items.forEach((item, i) => {
    const key = keyOf(item);
    let el = existing.get(key);
    if (!el) {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    keep.add(el);
    const at = ul.children[i];
    if (at !== el) ul.insertBefore(el, at || null);
  });
  for (const child of [...ul.children]) if (!keep.has(child)) child.remove();
}
