/*
 * kpr-site – Suche auf /suche/ (progressive Verbesserung).
 *
 * Ohne JavaScript schickt das Formular die Anfrage an /suche/?q=…, und die Seite nennt die
 * Themenübersicht und die Sitemap. Mit JavaScript lädt dieses Modul den Suchindex von Pagefind
 * (von dieser Website, nichts von fremden Servern), zeigt Treffer mit hervorgehobenem
 * Suchbegriff im Textauszug und nennt ihre Zahl in einer Statuszeile, die Screenreader
 * vorlesen. Art und Thema grenzen die Suche ein („Suche eingrenzen“ lädt ihre Werte erst bei
 * Bedarf: bei 10.000 Seiten spart das einer einfachen Suche rund 50 kB); die Adresse
 * (?q=…&typ=…&thema=…) gibt den Stand wieder, sodass man sie weitergeben kann.
 */

const PAGE_SIZE = 10;

const form = document.querySelector("[data-search]");
if (form) {
  start(form);
}

async function start(form) {
  const ui = {
    input: form.querySelector("input[name=q]"),
    selects: Array.from(form.querySelectorAll("select[data-filter]")),
    filters: form.querySelector("[data-search-filters]"),
    toggle: form.querySelector("[data-search-filter-toggle]"),
    status: document.querySelector("[data-search-status]"),
    list: document.querySelector("[data-search-results]"),
    more: document.querySelector("[data-search-more]"),
    fallback: document.querySelector("[data-search-fallback]"),
    nojs: document.querySelector("[data-search-nojs]"),
  };
  const query = new URLSearchParams(window.location.search);
  ui.input.value = query.get("q") || "";
  let pagefind;
  try {
    pagefind = await import(form.dataset.bundle + "pagefind.js");
    await pagefind.options({ baseUrl: form.dataset.base, excerptLength: 24 });
    if (ui.selects.some((select) => query.get(select.name))) {
      await openFilters(pagefind, ui, query);
    }
  } catch (error) {
    ui.nojs.textContent = "Die Suche konnte nicht geladen werden. Bitte versuchen Sie es später erneut.";
    console.error(error);
    return;
  }
  ui.fallback.hidden = true;
  ui.toggle.hidden = false;
  ui.toggle.addEventListener("click", () => openFilters(pagefind, ui, query));
  const state = { results: [], shown: 0 };
  const run = () => search(pagefind, ui, state);
  ui.input.addEventListener("input", run);
  ui.selects.forEach((select) => select.addEventListener("change", run));
  ui.more.querySelector("button").addEventListener("click", () => showMore(ui, state, true));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  if (ui.input.value.trim() || ui.selects.some((s) => s.value)) {
    run();
  }
}

/* Load the filter values once, then show or hide the filters. */
async function openFilters(pagefind, ui, query) {
  if (!ui.filtersLoaded) {
    ui.filtersLoaded = true;
    await fillFilters(ui.selects, await pagefind.filters(), query);
  }
  const open = ui.toggle.getAttribute("aria-expanded") !== "true";
  ui.toggle.setAttribute("aria-expanded", String(open));
  ui.filters.hidden = !open;
}

/* One <option> per filter value, sorted the German way, with the number of pages. */
async function fillFilters(selects, available, query) {
  for (const select of selects) {
    const values = available[select.dataset.filter] || {};
    const names = Object.keys(values).sort((a, b) => a.localeCompare(b, "de"));
    for (const name of names) {
      const option = new Option(`${name} (${values[name].toLocaleString("de-DE")})`, name);
      select.append(option);
    }
    const wanted = query.get(select.name);
    if (wanted && names.includes(wanted)) {
      select.value = wanted;
    }
  }
}

async function search(pagefind, ui, state) {
  const term = ui.input.value.trim();
  const filters = {};
  for (const select of ui.selects) {
    if (select.value) {
      filters[select.dataset.filter] = select.value;
    }
  }
  remember(term, ui.selects);
  if (!term && !Object.keys(filters).length) {
    state.results = [];
    ui.list.replaceChildren();
    ui.list.hidden = true;
    ui.more.hidden = true;
    ui.status.textContent = "";
    return;
  }
  const found = await pagefind.debouncedSearch(term || null, { filters }, 250);
  if (found === null) {
    return; // a newer input replaced this search
  }
  state.results = found.results;
  state.shown = 0;
  ui.list.replaceChildren();
  await showMore(ui, state, false);
  ui.status.textContent = summary(state.results.length, term, filters);
}

/* The next PAGE_SIZE results; after "Weitere Treffer zeigen" the focus moves to the first new one. */
async function showMore(ui, state, focus) {
  const next = state.results.slice(state.shown, state.shown + PAGE_SIZE);
  const items = (await Promise.all(next.map((result) => result.data()))).map(resultItem);
  ui.list.append(...items);
  state.shown += next.length;
  ui.list.hidden = state.shown === 0;
  ui.more.hidden = state.shown >= state.results.length;
  if (focus && items.length) {
    items[0].querySelector("a").focus();
  }
}

function resultItem(data) {
  const item = document.createElement("li");
  item.className = "search-result";
  const heading = document.createElement("h2");
  heading.className = "search-result__title";
  const link = document.createElement("a");
  link.href = data.url;
  link.textContent = data.meta.title || data.url;
  heading.append(link);
  const facts = [(data.filters.Typ || [])[0], data.meta.datum].filter(Boolean);
  const meta = document.createElement("p");
  meta.className = "search-result__meta";
  meta.textContent = facts.join(" · ");
  const excerpt = document.createElement("p");
  excerpt.className = "search-result__excerpt";
  excerpt.append(marked(data.excerpt));
  item.append(heading, ...(facts.length ? [meta] : []), excerpt);
  return item;
}

/* Pagefind's excerpt is HTML-escaped text with <mark> around the hits; keep exactly that. */
function marked(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  const out = document.createDocumentFragment();
  for (const node of template.content.childNodes) {
    if (node.nodeName === "MARK") {
      const mark = document.createElement("mark");
      mark.textContent = node.textContent;
      out.append(mark);
    } else {
      out.append(document.createTextNode(node.textContent));
    }
  }
  return out;
}

function summary(count, term, filters) {
  const number = count.toLocaleString("de-DE");
  const what = term ? ` für „${term}“` : "";
  const where = Object.values(filters).map((value) => `„${value}“`).join(" und ");
  const within = where ? ` in ${where}` : "";
  if (count === 0) {
    return `Keine Treffer${what}${within}.`;
  }
  return `${number} ${term ? "Treffer" : count === 1 ? "Eintrag" : "Einträge"}${what}${within}.`;
}

/* The search in the address bar, without a new history entry per keystroke. */
function remember(term, selects) {
  const params = new URLSearchParams();
  if (term) {
    params.set("q", term);
  }
  for (const select of selects) {
    if (select.value) {
      params.set(select.name, select.value);
    }
  }
  const search = params.toString();
  window.history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
}
